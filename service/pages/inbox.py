"""The manager's inbox (a page): overdue work of my team, disagreements at my stage, advice
requests; reassign a task to a team member, give it more time with a reason, or open it.
``?view=team`` lists all open work of my team instead; both filter and sort
(``service/pages/inbox_list.py``), and both give several ticked steps to one person at once
(``service/casework/assign_many.py``, each step checked as a single reassignment).

Server-rendered forms with CSRF that call the same domain functions as the API
(``service/casework/``: assign, give more time, resolve); a refused answer re-renders the
inbox with the error beside the field and what was typed kept.
"""

from __future__ import annotations

from datetime import date, datetime, time

from flask import Blueprint, flash, redirect, render_template, request, url_for
from sqlalchemy import select

from service import trail
from service.access import access, viewer
from service.auth import current_user
from service.casework import assign as assigning
from service.casework import assign_many as assigning_many
from service.casework import resolve as resolving
from service.casework.desk import for_request
from service.casework.give_more_time import give_more_time
from service.context import services, uow
from service.openapi import HTML, spec
from service.pages import inbox_list
from service.pages.inbox_list import InboxFilters
from service.pages.listing import lateness
from storage.models import ProcessInstance, Task
from tasks import inbox, reminders
from tasks.calendar import DEFAULT_CALENDAR
from tasks.worklist import worklist_query
from workflows.errors import Conflict, InvalidInput, NotFound
from workflows.roles import CASEWORK_INBOX_ROLES, EXTEND_ROLES, INBOX_ROLES

bp = Blueprint("inbox", __name__)
# The board reads (and closes) its copies of stage-3 escalation notices here (INBOX_ROLES): no
# case data and no casework (docs/security.md), so it reaches neither reassigning nor extending.
FORM = {
    "application/x-www-form-urlencoded": {
        "type": "object",
        "properties": {
            "csrf_token": {"type": "string"},
            "user": {"type": "string"},
            "due_date": {"type": "string"},
            "reason": {"type": "string"},
            "resolution": {"type": "string"},
            "task": {"type": "array", "items": {"type": "string"}},
        },
    }
}
BULK = ("bulk", "task")  # where a bulk reassignment's own errors are shown


def _instances(session, ids: set[str]) -> dict[str, tuple[str, str | None]]:
    if not ids:
        return {}
    rows = session.execute(
        select(ProcessInstance.id, ProcessInstance.process_key, ProcessInstance.business_key).where(
            ProcessInstance.id.in_(ids)
        )
    )
    return {row[0]: (row[1], row[2]) for row in rows}


def _item(task: Task, key: str | None, business_key: str | None, now: datetime, escalation=None):
    status, words = lateness(task.due_at, now)
    return {
        "task": task,
        "process_key": key,
        "business_key": None if task.identity_withheld else business_key,
        "status": status,
        "lateness": words,
        "escalation": escalation,
    }


def inbox_sections(now: datetime) -> dict[str, list[dict]]:
    """The three lists of the inbox, and other open escalations that name no open task."""
    session = uow().session
    user = current_user()
    who = viewer(user)
    escalations = inbox.open_escalations(session, user)
    where = _instances(session, {t.instance_id for _e, t in escalations if t is not None})
    overdue, disagreements, advice, other = [], [], [], []
    listed: set[str] = set()
    for escalation, task in escalations:
        if task is None or task.status != "open" or task.id in listed:
            other.append({"escalation": escalation, "task": task})
            continue
        key, business_key = where.get(task.instance_id, (None, None))
        section = {"overdue_task": overdue, "disagreement": disagreements}.get(
            escalation.kind, advice
        )
        section.append(_item(task, key, business_key, now, escalation))
        listed.add(task.id)
    for task, key, business_key in session.execute(worklist_query(who, "team", now, overdue=True)):
        # Only what they can act on: a head teacher does not manage their DSL's DSL steps.
        if task.id not in listed and reminders.managing_role(task.candidate_roles) in who.roles:
            overdue.append(_item(task, key, business_key, now))
            listed.add(task.id)
    # Disagreements come from their inbox items only (raised for each stage's managers as the
    # stage opens, tasks/disagreements.py), so the page and GET /api/escalations list the same.
    for task, key, business_key in inbox.waiting_steps(session, who, now, inbox.ADVICE_STEPS):
        if task.id not in listed:
            advice.append(_item(task, key, business_key, now))
            listed.add(task.id)
    return {"overdue": overdue, "disagreements": disagreements, "advice": advice, "other": other}


def team_work(now: datetime) -> list[dict]:
    """All open work held by the people I manage, soonest due first."""
    session = uow().session
    query = worklist_query(viewer(current_user()), "team", now)
    return [_item(task, key, bk, now) for task, key, bk in session.execute(query)]


def _render(*, errors=None, values=None, message=None, status=200, results=None, filters=None):
    user = current_user()
    now = services().clock.now()
    filters = filters or InboxFilters()
    team = inbox.team(uow().session, user.id)
    sections = {"team": team_work(now)} if filters.view == "team" else inbox_sections(now)
    other = sections.pop("other", [])
    body = render_template(
        "inbox.html",
        sections=inbox_list.choose(sections, filters, now),
        other=other,
        steps=inbox_list.steps_of(sections),
        filters=filters,
        choices=inbox_list,
        team=team,
        may_extend=user.is_admin or bool(user.roles & set(EXTEND_ROLES)),
        errors=errors or {},
        values=values or {},
        message=message,
        results=results or [],
        picked=set(request.form.getlist("task")) if request.method == "POST" else set(),
        today=now.astimezone(DEFAULT_CALENDAR.zone).date().isoformat(),
    )
    return body, status


@bp.get("/inbox")
@access(*INBOX_ROLES)
@spec(
    "My inbox: overdue work of my team, disagreements, advice requests (a page)",
    responses={200: HTML, 302: None},
    tag="pages",
)
def show():
    try:
        filters = InboxFilters.from_args(request.args)
    except InvalidInput as err:
        return _render(errors={("filters", err.field): str(err)}, status=422)
    return _render(filters=filters)


def _filters_of_form() -> InboxFilters:
    """The filters the bulk form was posted from (hidden fields), or none if altered."""
    try:
        return InboxFilters.from_args(request.form)
    except InvalidInput:
        return InboxFilters()


@bp.post("/inbox/reassign")
@access(*CASEWORK_INBOX_ROLES)
@spec(
    "Give several steps to one team member (a page); each is checked and changed on its own",
    body=FORM,
    responses={302: None, 409: HTML, 422: HTML},
    tag="pages",
)
def reassign_many():
    filters = _filters_of_form()
    username = request.form.get("user", "").strip()[:80]
    chosen = list(dict.fromkeys(request.form.getlist("task")))
    problem = None
    if not chosen:
        problem = ("task", "Tick at least one step")
    elif len(chosen) > assigning_many.MOST:
        problem = ("task", f"Tick at most {assigning_many.MOST} steps at a time")
    elif not username:
        problem = ("user", "Choose who should do them")
    items = []
    for task_id in chosen:
        version = request.form.get(f"version-{task_id}", "")
        if not version.isdigit() or len(version) > 9:
            problem = problem or ("task", "The page is out of date: reload it")
        items.append((task_id[:36], int(version) if version.isdigit() else None))
    if problem:
        uow().rollback()
        return _render(errors={(BULK[0], problem[0]): problem[1]}, filters=filters, status=422)
    unit = uow()
    unit.session.rollback()  # SQLite: let each step's own transaction write
    done = assigning_many.assign_many(for_request(), viewer(current_user()), items, username)
    counts = {o: sum(1 for r in done if r.outcome == o) for o in {r.outcome for r in done}}
    trail.note(detail={"user": username, "tasks": [r.task_id for r in done], **counts})
    unit.commit()
    if all(r.outcome == "assigned" for r in done):
        flash(f"{len(done)} step{'s' if len(done) != 1 else ''} now with {username}")
        return redirect(url_for("inbox.show", **filters.args()))
    errors = {(r.task_id, "general"): r.message for r in done if r.outcome != "assigned"}
    status = 409 if any(r.outcome == "conflict" for r in done) else 422
    return _render(errors=errors, results=done, filters=filters, status=status)


def _refused(task_id: str, field: str, message: str, status: int = 422):
    uow().rollback()
    typed = {(task_id, name): request.form.get(name, "")[:4000] for name in request.form}
    return _render(errors={(task_id, field): message}, values=typed, status=status)


@bp.post("/inbox/tasks/<task_id>/assign")
@access(*CASEWORK_INBOX_ROLES, case_scoped=True)
@spec(
    "Reassign a task to a team member (a page); redirects to the inbox",
    body=FORM,
    responses={302: None, 409: HTML, 422: HTML},
    tag="pages",
)
def assign(task_id: str):
    unit = uow()
    username = request.form.get("user", "").strip()[:80]
    if not username:
        return _refused(task_id, "user", "Choose who should do it")
    try:
        task = assigning.assign(for_request(), unit, viewer(current_user()), task_id, username)
    except InvalidInput as err:
        return _refused(task_id, "user", str(err))
    except Conflict as err:
        return _refused(task_id, "general", str(err), 409)
    name = task.name or task.element_id
    unit.commit()
    flash(f"'{name}' is now with {username}")
    return redirect(url_for("inbox.show"))


def _due_from(raw: str) -> datetime | None:
    """A date from the form as the close of that working day (or of the next one)."""
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        return None
    calendar = DEFAULT_CALENDAR
    return calendar.close_of_day(datetime.combine(day, time(0, 0), tzinfo=calendar.zone))


@bp.post("/inbox/tasks/<task_id>/extend")
@access(*EXTEND_ROLES, case_scoped=True)
@spec(
    "Give a task more time, with a reason (a page); redirects to the inbox",
    body=FORM,
    responses={302: None, 409: HTML, 422: HTML},
    tag="pages",
)
def extend(task_id: str):
    reason = request.form.get("reason", "").strip()[: inbox.MAX_RESOLUTION]
    new_due = _due_from(request.form.get("due_date", "").strip())
    now = services().clock.now()
    if new_due is None or new_due <= now:
        return _refused(task_id, "due_date", "Enter a date in the future")
    if not reason:
        return _refused(task_id, "reason", "Say why it needs more time")
    unit = uow()
    try:
        give_more_time(for_request(), unit, viewer(current_user()), task_id, new_due, reason)
    except (Conflict, NotFound) as err:
        return _refused(task_id, "general", str(err), 409)
    unit.commit()
    shown = new_due.astimezone(DEFAULT_CALENDAR.zone).strftime("%d %b %Y %H:%M")
    flash(f"Now due {shown} (London time)")
    return redirect(url_for("inbox.show"))


@bp.post("/inbox/escalations/<escalation_id>/resolve")
@access(*INBOX_ROLES)
@spec(
    "Close an inbox item with a note (a page); redirects to the inbox",
    body=FORM,
    responses={302: None, 409: HTML, 422: HTML},
    tag="pages",
)
def resolve(escalation_id: str):
    unit = uow()
    note = request.form.get("resolution", "").strip()[: inbox.MAX_RESOLUTION]
    field = f"escalation-{escalation_id}"
    try:
        resolving.resolve(for_request(), unit, viewer(current_user()), escalation_id, note)
    except InvalidInput:
        return _refused(field, "resolution", "Write what was done")
    except Conflict as err:
        return _refused(field, "general", str(err), 409)
    unit.commit()
    flash("Item closed")
    return redirect(url_for("inbox.show"))
