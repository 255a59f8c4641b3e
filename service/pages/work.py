"""My work, one task with its form, and starting a process: pages for people using a browser.

The pages use the same rules as the API (``@access``) and the same domain functions
(``tasks.worklist``, ``tasks.work``, ``tasks.forms``); they only turn form strings into typed
answers and answers, problems and conflicts into HTML.
"""

from __future__ import annotations

import re
from typing import Literal

from flask import Blueprint, flash, redirect, render_template, request, url_for

from service.access import access, records_only, viewer
from service.api.schemas import Model
from service.auth import current_user
from service.casework import claim as claiming
from service.casework import complete as completing
from service.casework import unclaim as unclaiming
from service.casework.desk import for_request
from service.context import services, uow
from service.errors import ApiError
from service.openapi import HTML, spec
from service.pages import listing, start_form
from service.pages.listing import lateness, uk_time
from service.pages.start_form import START_FORM
from storage.models import ProcessDefinition, ProcessInstance, Task
from tasks import forms, history, parties, summary, visibility, work
from tasks.errors import FormInvalid
from workflows.errors import Conflict
from workflows.roles import (
    CASEWORK,
    CASEWORK_ROLES,
    PROCESS_OWNERS,
    REPORT_READERS,
    ROLE_LABELS,
)

bp = Blueprint("work", __name__)
WHOLE_NUMBER = re.compile(r"[+-]?\d{1,19}")
CSRF_ONLY = {
    "application/x-www-form-urlencoded": {
        "type": "object",
        "properties": {"csrf_token": {"type": "string"}},
    }
}


class WorkFilters(Model):
    """The filters of My work (unknown values mean "all")."""

    process: str | None = None
    status: Literal["overdue", "due_soon", "later"] | None = None


ANSWERS = {
    "application/x-www-form-urlencoded": {
        "type": "object",
        "properties": {"csrf_token": {"type": "string"}},
        "additionalProperties": {"type": "string"},
    }
}


@bp.get("/")
@access(anyone=True)
@spec(
    "My work: tasks assigned to me and tasks I can claim, filtered by process and status (a page)",
    query=WorkFilters,
    responses={200: HTML, 302: None},
    tag="pages",
)
def home():
    user = current_user()
    elsewhere = _home_of(user.roles)
    if elsewhere is not None:
        return redirect(url_for(elsewhere))
    now = services().clock.now()
    session = uow().session
    processes = listing.process_choices(session)
    filters = listing.Filters.from_args(request.args, processes)
    who = viewer(user)
    # The Board and the auditor sign in here too, but see no worklist: they do no casework.
    casework = not records_only(user.roles)
    return render_template(
        "work.html",
        mine=listing.task_rows(session, who, "mine", now, filters) if casework else [],
        candidate=listing.task_rows(session, who, "candidate", now, filters) if casework else [],
        processes=processes,
        statuses=listing.STATUSES,
        filters=filters,
    )


# Where a person who does no casework lands instead of an empty My work: the page of their job,
# first match wins (a process owner who also reads reports models first).
HOMES = ((PROCESS_OWNERS, "modeller.index"), (REPORT_READERS, "reports_page.reports"))


def _home_of(roles) -> str | None:
    """The endpoint of the home page of someone with no casework role, or None: My work."""
    if set(roles) & CASEWORK_ROLES:
        return None
    return next((page for holders, page in HOMES if set(roles) & set(holders)), None)


def typed_answers(fields: list[forms.FormField], form) -> dict:
    """Form strings as the typed answers ``forms.validate`` expects; empty means not answered.

    A string that is not a value of the field's type is passed on as it is, so that the
    validator names the problem (``"Enter a whole number"``) beside the field.
    """
    data = {}
    for item in fields:
        raw = form.get(item.id, "")
        if not raw.strip():
            continue
        if item.type == "boolean" and raw in ("true", "false"):
            data[item.id] = raw == "true"
        elif item.type == "long" and WHOLE_NUMBER.fullmatch(raw.strip()):
            data[item.id] = int(raw.strip())
        else:
            data[item.id] = raw
    return data


def _shown_values(fields: list[forms.FormField], data: dict) -> dict[str, str]:
    """Instance data (already typed) as the strings the inputs show."""
    values = {}
    for item in fields:
        value = data.get(item.id)
        if value is None:
            continue
        values[item.id] = ("true" if value else "false") if isinstance(value, bool) else str(value)
    return values


def _task_page(task_id: str, *, values=None, problems=(), message=None, status=200):
    unit = uow()
    task = unit.session.get(Task, task_id)
    if task is None:
        raise ApiError(404, "not_found", f"task {task_id} does not exist")
    now = services().clock.now()
    fields: list[forms.FormField] = []
    task_spec = None
    withheld = task.identity_withheld
    given: list[tuple[str, str]] = []
    if task.status == "open":
        _, task_spec, data = services().engine.open_task(unit, task_id)
        fields = forms.form_of(task_spec)
        if values is None:
            values = _shown_values(fields, data)
        if withheld:
            _, workflow = services().engine.load(unit, task.instance_id)
            seen = visibility.withheld_data(workflow.spec, task_spec, data)
            given = visibility.labelled(workflow.spec, visibility.shows(task_spec), seen)
    errors: dict[str, str] = {}
    general = []
    for problem in problems:
        if problem.field in {item.id for item in fields} and problem.field not in errors:
            errors[problem.field] = problem.message
        else:
            general.append(
                f"{problem.field}: {problem.message}" if problem.field else problem.message
            )
    user = current_user()
    css, words = lateness(task.due_at, now) if task.status == "open" else ("", None)
    body = render_template(
        "task.html",
        user=user,
        task=task,
        # Advice without identity: the summary the practitioner wrote, no case, no child.
        case=None if withheld else _case_summary(unit, task, task_spec),
        given=given,
        fields=fields,
        values=values or {},
        errors=errors,
        general=general,
        message=message,
        status_class=css,
        lateness=words,
        ended=None if task.status == "open" else _how_it_ended(unit.session, task, withheld),
        mine=task.assignee == user.username,
        case_key=None if withheld else parties.case_of_instance(unit.session, task.instance_id),
        may_claim=task.status == "open"
        and not task.assignee
        and work.may_claim(viewer(user), task),
    )
    return body, status


def _how_it_ended(session, task: Task, withheld: bool) -> str:
    """Why a closed step is no longer waiting, and for a cancelled one where the work went: a
    bare "1 working day late" on a step that moved to someone else read as a failure."""
    if task.status == "completed":
        by = f" by {task.completed_by}" if task.completed_by else ""
        return f"Completed{by} on {uk_time(task.completed_at)}."
    instance = session.get(ProcessInstance, task.instance_id)
    if instance is not None and instance.status == "cancelled":
        return "Cancelled: the whole process was cancelled."
    successor = None if withheld else history.taken_over_by(session, task)
    if successor is None:
        return "Cancelled: this step is no longer needed."
    roles = ", ".join(ROLE_LABELS.get(r, r) for r in successor.candidate_roles or ())
    to = f"“{successor.name or successor.element_id}”" + (f" ({roles})" if roles else "")
    return f"Cancelled: the work moved to {to}."


def _case_summary(unit, task: Task, task_spec) -> dict:
    """Who and what the task is about: the child, the process, and the answers so far - less
    the details only other steps' parties may see (``visibility=step``)."""
    row, workflow = services().engine.load(unit, task.instance_id)
    definition = unit.session.get(ProcessDefinition, row.definition_id)
    if task_spec is None:
        task_spec = summary.task_spec_of(workflow, task.element_id)
    hidden = visibility.hidden_at(workflow.spec, task_spec)
    return {
        "instance": row,
        "process_name": (definition.name if definition else None) or row.process_key,
        "version": definition.version if definition else None,
        "steps": summary.earlier_answers(unit.session, workflow, row.id, hidden),
    }


@bp.get("/tasks/<task_id>")
@access(case_scoped=True)
@spec("A task and its form (a page)", responses={200: HTML, 302: None}, tag="pages")
def task(task_id: str):
    return _task_page(task_id)


@bp.post("/tasks/<task_id>")
@access(case_scoped=True)
@spec(
    "Complete a task with the form's answers (a page); redirects to My work",
    body=ANSWERS,
    responses={302: None, 409: HTML, 422: HTML},
    errors=(403,),
    tag="pages",
)
def submit(task_id: str):
    unit = uow()
    engine = services().engine
    task_row = unit.session.get(Task, task_id)
    fields: list[forms.FormField] = []
    if task_row is not None and task_row.status == "open":
        _, task_spec, _data = engine.open_task(unit, task_id)
        fields = forms.form_of(task_spec)
    raw = {item.id: request.form.get(item.id, "")[: forms.MAX_TEXT] for item in fields}
    try:
        answers = typed_answers(fields, request.form)
        completing.complete(for_request(), unit, viewer(current_user()), task_id, answers)
    except FormInvalid as err:
        unit.rollback()
        return _task_page(task_id, values=raw, problems=err.problems, status=422)
    except Conflict as err:
        unit.rollback()
        return _task_page(task_id, values=raw, message=str(err), status=409)
    unit.commit()
    flash("Done")
    return redirect(url_for("work.home"))


def _act(task_id: str, action) -> object:
    """Claim or unclaim (``action``, a use case) and come back to the task, telling a conflict."""
    unit = uow()
    try:
        action(for_request(), unit, viewer(current_user()), task_id)
    except Conflict as err:
        unit.rollback()
        flash(str(err))
    else:
        unit.commit()
    return redirect(url_for("work.task", task_id=task_id))


@bp.post("/tasks/<task_id>/claim")
@access(case_scoped=True)
@spec(
    "Claim a task (a page); redirects to it",
    body=CSRF_ONLY,
    responses={302: None},
    errors=(403,),
    tag="pages",
)
def claim(task_id: str):
    return _act(task_id, claiming.claim)


@bp.post("/tasks/<task_id>/unclaim")
@access(case_scoped=True)
@spec(
    "Give a claimed task back (a page); redirects to it",
    body=CSRF_ONLY,
    responses={302: None},
    tag="pages",
)
def unclaim(task_id: str):
    return _act(task_id, unclaiming.unclaim)


@bp.route("/start/<process_key>", methods=["GET", "POST"])
@access(*CASEWORK)
@spec(
    "Start a process (a page); POST starts it and redirects to its first task",
    body=START_FORM,
    responses={200: HTML, 302: None, 409: HTML, 422: HTML},
    tag="pages",
)
def start(process_key: str):
    return start_form.handle(process_key)
