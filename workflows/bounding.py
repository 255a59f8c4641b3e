"""Rewriting checked diagram code so that it runs under a budget (``workflows/limits.py``).

Applied after ``sandbox.check_source`` accepted the tree and before it is compiled (once per
source text: the compiled code is cached). The names it adds start with ``_g_``: diagram code
cannot name them itself (the sandbox refuses leading underscores), so it cannot replace them.

- every ``for`` and ``while`` body starts with ``_g_tick()``; every lambda ticks when called;
- comprehensions and ``*`` unpacking iterate through ``_g_iterate(...)``, which ticks per item;
- ``**``, ``*``, ``<<``, ``+`` and ``%`` (and their ``op=`` forms) go through ``_g_binary`` /
  ``_g_inplace``, which refuse a result that would be huge before computing it;
- calls of ``list``, ``sorted``, ``range``, ``sum`` … go through ``_g_call``; attribute reads of
  ``ljust``, ``join``, ``replace`` … through ``_g_method``; f-string format specs through
  ``_g_format``.
"""

from __future__ import annotations

import ast
import copy
from typing import Any

from workflows import guarded, limits

_OPERATORS = {ast.Pow: "**", ast.Mult: "*", ast.LShift: "<<", ast.Add: "+", ast.Mod: "%"}

GUARD_NAMES: dict[str, Any] = {
    "_g_tick": limits.tick,
    "_g_iterate": limits.iterate,
    "_g_binary": limits.binary,
    "_g_inplace": limits.inplace,
    "_g_format": limits.formatted,
    "_g_call": guarded.call,
    "_g_method": guarded.method,
}


def _name(name: str) -> ast.Name:
    return ast.Name(id=name, ctx=ast.Load())


def _call(name: str, *args: ast.expr) -> ast.Call:
    return ast.Call(func=_name(name), args=list(args), keywords=[])


def _tick() -> ast.Expr:
    return ast.Expr(value=_call("_g_tick"))


def _as_load(target: ast.expr) -> ast.expr:
    node = copy.deepcopy(target)
    node.ctx = ast.Load()
    return node


class _Bounder(ast.NodeTransformer):
    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        self.generic_visit(node)
        symbol = _OPERATORS.get(type(node.op))
        if symbol is None:
            return node
        call = _call("_g_binary", ast.Constant(symbol), node.left, node.right)
        return ast.copy_location(call, node)

    def visit_AugAssign(self, node: ast.AugAssign) -> ast.AST:
        self.generic_visit(node)
        symbol = _OPERATORS.get(type(node.op))
        if symbol is None:
            return node
        value = _call("_g_inplace", ast.Constant(symbol), _as_load(node.target), node.value)
        return ast.copy_location(ast.Assign(targets=[node.target], value=value), node)

    def _loop(self, node: ast.For | ast.While) -> ast.AST:
        self.generic_visit(node)
        node.body.insert(0, ast.copy_location(_tick(), node))
        return node

    visit_For = _loop
    visit_While = _loop

    def visit_comprehension(self, node: ast.comprehension) -> ast.AST:
        self.generic_visit(node)
        node.iter = ast.copy_location(_call("_g_iterate", node.iter), node.iter)
        return node

    def visit_Lambda(self, node: ast.Lambda) -> ast.AST:
        self.generic_visit(node)
        pair = ast.Tuple(elts=[_call("_g_tick"), node.body], ctx=ast.Load())
        node.body = ast.copy_location(
            ast.Subscript(value=pair, slice=ast.Constant(1), ctx=ast.Load()), node.body
        )
        return node

    def visit_Starred(self, node: ast.Starred) -> ast.AST:
        self.generic_visit(node)
        if isinstance(node.ctx, ast.Load):
            node.value = ast.copy_location(_call("_g_iterate", node.value), node.value)
        return node

    def visit_Attribute(self, node: ast.Attribute) -> ast.AST:
        self.generic_visit(node)
        if node.attr in guarded.GUARDED_METHODS and isinstance(node.ctx, ast.Load):
            call = _call("_g_method", node.value, ast.Constant(node.attr))
            return ast.copy_location(call, node)
        return node

    def visit_Call(self, node: ast.Call) -> ast.AST:
        self.generic_visit(node)
        if isinstance(node.func, ast.Name) and node.func.id in guarded.CONSUMERS:
            node.args = [node.func, *node.args]
            node.func = ast.copy_location(_name("_g_call"), node.func)
        return node

    def visit_FormattedValue(self, node: ast.FormattedValue) -> ast.AST:
        self.generic_visit(node)
        if node.format_spec is None:
            return node
        value = _call("_g_format", node.value, ast.Constant(node.conversion), node.format_spec)
        ast.copy_location(value, node)
        return ast.copy_location(ast.FormattedValue(value=value, conversion=-1), node)


def bound(tree: ast.AST) -> ast.AST:
    """``tree`` (already accepted by the sandbox check) rewritten to run under a budget."""
    return ast.fix_missing_locations(_Bounder().visit(tree))
