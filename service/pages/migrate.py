"""The process owner's page for moving running cases to another version of a process.

``GET /modeller/<key>/migrate?from=N&to=M&map.<step>=<step>`` draws the plan (a dry run: it
changes nothing); its button posts the same choice, and the answer lists what happened to each
instance. Both call the use case the API calls (``service/casework/migrate_many.py``), so the
page and ``/api/process-definitions/<key>/migrations`` cannot disagree. Like the API, the page
shows instance ids and step ids only: a process owner does no casework.
"""

from __future__ import annotations

from flask import Blueprint, render_template, request
from pydantic import Field

from service.access import access, viewer
from service.api.schemas import Model, Version
from service.auth import current_user
from service.casework import migrate_many
from service.casework.desk import for_request
from service.context import services, uow
from service.openapi import HTML, spec
from service.pages.modeller import OWNERS, version_arg
from workflows import definitions
from workflows.migration_plan import steps_of

bp = Blueprint("migrate_page", __name__)
MAPPED = "map."  # query and form fields ``map.<old step id>``: the step of the target
MIGRATE_FORM = {
    "application/x-www-form-urlencoded": {
        "type": "object",
        "properties": {
            "csrf_token": {"type": "string"},
            "from": {"type": "integer"},
            "to": {"type": "integer"},
        },
        "additionalProperties": {"type": "string", "description": "map.<old step id>: new id"},
    }
}


class MigrateQuery(Model):
    from_: Version | None = Field(
        None, alias="from", description="the version to move from; with it, the plan is drawn"
    )
    to: Version | None = Field(None, description="default: the latest")


def _choice(values) -> tuple[int | None, int | None, dict[str, str]]:
    mapping = {
        name[len(MAPPED) :]: value
        for name, value in values.items()
        if name.startswith(MAPPED) and value
    }
    return version_arg("from", values), version_arg("to", values), mapping


@bp.get("/modeller/<process_key>/migrate")
@access(*OWNERS)
@spec(
    "Plan moving a process's running cases to another version: a dry run (a page)",
    query=MigrateQuery,
    responses={200: HTML},
    errors=(400, 422),
    tag="pages",
)
def plan(process_key: str):
    since, to, mapping = _choice(request.args)
    return _page(process_key, since, to, mapping)


@bp.post("/modeller/<process_key>/migrate")
@access(*OWNERS)
@spec(
    "Move the running cases that can move to another version (a page of the outcomes)",
    body=MIGRATE_FORM,
    responses={200: HTML},
    errors=(400, 422),
    tag="pages",
)
def apply(process_key: str):
    since, to, mapping = _choice(request.form)
    if since is None or to is None:
        return _page(process_key, since, to, mapping)
    aim = migrate_many.target(for_request(), uow(), process_key, since, to, mapping)
    done = migrate_many.move_all(for_request(), uow(), viewer(current_user()), aim)
    return _page(process_key, since, to, mapping, done=done)


def _page(
    key: str, since: int | None, to: int | None, mapping: dict[str, str], done: dict | None = None
):
    """The choice of versions, and the plan for it (or, after applying, the outcomes)."""
    session = uow().session
    rows = definitions.list_versions(session, key)
    numbers = [row.version for row in rows]
    to = to or numbers[-1]
    counts = migrate_many.running_by_version(uow(), key)
    older = [n for n in numbers if n != to and counts.get(n)]
    moves, lost, target_steps = None, [], {}
    if since is None and done is None and older:
        since = older[0]
    if since is not None and done is None:
        desk = for_request()
        aim = migrate_many.target(desk, uow(), key, since, to, mapping)
        moves = migrate_many.plan(desk, uow(), aim)
        specs = services().engine.specs.get(session, aim.to_id)
        target_steps = steps_of(specs)
        lost = sorted(set(migrate_many.lost_steps(moves, specs)) | set(mapping))
    return render_template(
        "modeller_migrate.html",
        user=current_user(),
        key=key,
        name=rows[-1].name or key,
        numbers=numbers,
        counts=counts,
        since=since,
        to=to,
        mapping=mapping,
        moves=moves,
        movable=sum(1 for m in moves or [] if m.can_move),
        lost=lost,
        target_steps=target_steps,
        done=done,
    )
