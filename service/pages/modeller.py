"""The BPMN modeller for process owners: open the deployed version, edit, validate, deploy, diff.

The page only hosts bpmn-js (``static/vendor/modeller.js``, built from npm by ``make``) and
``static/modeller.js``; validating and deploying go through the API's own routes
(``POST /api/process-definitions/validate`` and ``POST /api/process-definitions``) with the
session cookie and the CSRF token of the page, so a deployment from the browser is checked and
audited exactly like one from the CLI. The page lists the versions with their change notes.
The diff page shows two versions side by side, coloured in the browser by bpmn-js-differ, with
the server's list of changes in words (workflows/diffing.py, the same list as the API's).
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping

from flask import Blueprint, render_template, request
from pydantic import Field

from service.access import access
from service.api.requests import MAX_INT, is_whole_number
from service.api.schemas import DiffQuery, Model, Version
from service.auth import current_user
from service.context import services, uow
from service.errors import ApiError
from service.openapi import HTML, spec
from workflows import definitions
from workflows.diffing import compare
from workflows.file_deploys import made_where
from workflows.roles import PROCESS_OWNERS

bp = Blueprint("modeller", __name__)
OWNERS = PROCESS_OWNERS
CONTEXT_LINES = 3
MAX_DIFF_LINES = 20_000  # a page, not a download: beyond this the diff is cut


@bp.get("/modeller")
@access(*OWNERS)
@spec(
    "The deployed processes, to open in the modeller (a page)",
    responses={200: HTML},
    tag="pages",
)
def index():
    rows = definitions.list_latest(uow().session)
    return render_template("modeller_index.html", user=current_user(), definitions=rows)


class OpenQuery(Model):
    version: Version | None = Field(None, description="default: the latest")


@bp.get("/modeller/<process_key>")
@access(*OWNERS)
@spec(
    "The BPMN modeller on a deployed version of a process, the latest unless named (a page)",
    query=OpenQuery,
    responses={200: HTML, 302: None},
    errors=(400,),
    tag="pages",
)
def modeller(process_key: str):
    session = uow().session
    latest = definitions.find(session, process_key)
    version = version_arg("version")
    shown = definitions.find(session, process_key, version) if version else latest
    history = list(reversed(definitions.list_versions(session, process_key)))
    return render_template(
        "modeller.html",
        user=current_user(),
        definition=shown,
        latest=latest.version,
        history=history,
        made_where=made_where,
        rules=services().engine.conventions,
    )


def version_arg(name: str, values: Mapping[str, str] | None = None) -> int | None:
    """The version number in field ``name`` of ``values`` (default: the query), None if
    absent; else 400."""
    raw = (request.args if values is None else values).get(name)
    if raw is None or raw == "":
        return None
    if not (is_whole_number(raw) and 1 <= int(raw) <= MAX_INT):
        raise ApiError(400, "bad_request", f"{name} must be a version number.")
    return int(raw)


def unified_diff(old: str, new: str, old_name: str, new_name: str) -> list[str]:
    """The lines of a unified diff of two diagrams' XML (empty when they are the same)."""
    lines = difflib.unified_diff(
        old.splitlines(),
        new.splitlines(),
        fromfile=old_name,
        tofile=new_name,
        n=CONTEXT_LINES,
        lineterm="",
    )
    return [line for _, line in zip(range(MAX_DIFF_LINES), lines, strict=False)]


@bp.get("/modeller/<process_key>/diff")
@access(*OWNERS)
@spec(
    "What changed between two deployed versions of a process, side by side and in words (a page)",
    query=DiffQuery,
    responses={200: HTML},
    errors=(400,),
    tag="pages",
)
def diff(process_key: str):
    found = compare(uow().session, process_key, version_arg("from"), version_arg("to"))
    since, to = found.old.version, found.new.version
    lines = unified_diff(
        found.old.xml,
        found.new.xml,
        f"{process_key} version {since}",
        f"{process_key} version {to}",
    )
    return render_template(
        "modeller_diff.html",
        user=current_user(),
        key=process_key,
        name=found.new.name or process_key,
        numbers=found.numbers,
        old=found.old,
        new=found.new,
        since=since,
        to=to,
        changes=found.changes,
        made_where=made_where,
        lines=lines,
        cut=len(lines) == MAX_DIFF_LINES,
    )
