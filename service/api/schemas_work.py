"""Models of the human-work routes: worklist, task, notifications, escalations (``@spec``)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import Field

from service.api.schemas import Model


class WorklistTask(Model):
    id: str
    instance_id: str
    process_key: str | None
    name: str | None
    element_id: str
    role: str | None
    assignee: str | None
    candidate_roles: list[str]
    created_at: datetime
    due_at: datetime | None
    reminded_at: datetime | None
    overdue: bool
    priority: int | None
    version: int


class WorklistPage(Model):
    items: list[WorklistTask]
    next_cursor: str | None


class WorklistQuery(Model):
    view: Literal["mine", "candidate", "team", "all"] = "mine"
    overdue: Literal["true", "false"] | None = None
    process_key: str | None = None
    sort: Literal["due_at"] = "due_at"
    limit: Annotated[int, Field(ge=1, le=500)] = 50
    cursor: Annotated[str, Field(pattern=r"^[0-9]{1,8}$")] | None = None


class FormOption(Model):
    id: str
    label: str


class FormFieldOut(Model):
    id: str
    label: str
    type: Literal["string", "text", "boolean", "enum", "date", "long"]
    required: bool
    options: list[FormOption] | None = None
    help: str | None = None
    constraints: dict[str, Any] | None = None


class TaskDetail(WorklistTask):
    status: Literal["open", "completed", "cancelled"]
    business_key: str | None
    form: list[FormFieldOut]
    data: dict[str, Any]


class AssignIn(Model):
    user: Annotated[str, Field(min_length=1, max_length=80)]


class CompleteIn(Model):
    data: dict[str, Any] | None = Field(None, description="answers keyed by form field id")


class ExtendIn(Model):
    due_at: Annotated[
        str, Field(min_length=1, max_length=64, description="ISO 8601 with offset, in the future")
    ]
    reason: Annotated[str, Field(min_length=1, max_length=4000)]


class NotificationOut(Model):
    id: str
    kind: str
    title: str
    body: str | None
    link: str | None
    task_id: str | None
    instance_id: str | None
    created_at: datetime
    read_at: datetime | None
    emailed_at: datetime | None


class NotificationPage(Model):
    items: list[NotificationOut]
    next_cursor: str | None


class NotificationQuery(Model):
    unread: Literal["true", "false"] | None = None
    limit: Annotated[int, Field(ge=1, le=500)] = 50
    cursor: str | None = None


class AddressedTo(Model):
    manager: str | None
    role: str | None
    agency: str | None


class EscalationDetails(Model):
    """What an item carries itself: the board's copy of a stage-3 escalation notice."""

    stage: int | None
    agencies: list[str]
    notice: str | None
    resolved: bool | None


class EscalationOut(Model):
    id: str
    kind: str
    since: datetime
    due_at: datetime | None
    task_id: str | None
    instance_id: str | None
    task_name: str | None
    assignee: str | None
    addressed_to: AddressedTo
    status: str
    resolved_at: datetime | None
    resolved_by: str | None
    resolution: str | None
    details: EscalationDetails | None
    links: dict[str, str]


class EscalationPage(Model):
    items: list[EscalationOut]
    next_cursor: str | None


class PageQuery(Model):
    limit: Annotated[int, Field(ge=1, le=500)] = 50
    cursor: str | None = None


class ResolveIn(Model):
    resolution: Annotated[str, Field(min_length=1, max_length=4000)]
