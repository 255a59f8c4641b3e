"""Who may call what: every route declares its access rule here, in one place.

This is the hook the authentication issue fills in. Today the rules are declared and recorded on
each view (and a test checks that no ``/api`` route lacks one); ``authorize`` is where login,
roles and need-to-know will be enforced. Until then the service must only run on a trusted
machine — ``make run`` binds to 127.0.0.1.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

ROLES = (
    "practitioner",
    "manager",
    "dsl",
    "csc",
    "csc_manager",
    "process_owner",
    "board",
    "admin",
)


@dataclass(frozen=True)
class Rule:
    roles: tuple[str, ...] = ()  # empty: any signed-in user
    public: bool = False  # no sign-in needed (health checks)
    case_scoped: bool = False  # need-to-know on the instance named in the URL


def access(
    *roles: str, public: bool = False, case_scoped: bool = False
) -> Callable[[Callable], Callable]:
    unknown = set(roles) - set(ROLES)
    if unknown:
        raise ValueError(f"unknown roles {sorted(unknown)}")

    def mark(view: Callable) -> Callable:
        view.access_rule = Rule(tuple(roles), public, case_scoped)
        return view

    return mark


def authorize(rule: Rule | None) -> None:
    """Enforce ``rule`` for the current request (filled in by the authentication issue)."""
    if rule is None:
        raise RuntimeError("route without an access rule")
