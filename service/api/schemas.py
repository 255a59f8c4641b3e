"""Request and response models of the JSON API, for ``@spec`` and ``requests.body_of``.

Requests are still read by ``requests.json_body`` (strict, 422 with ``details: [{field,
message}]``); ``body_of(Model)`` derives its field types, required names and lengths from the
model here, so the document and the check cannot drift apart. Responses are built by
``shapes``; these models describe them, and the schemathesis test checks every answer against
them. All forbid unknown fields, so a new key in a response must be declared here first.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel

from service.api.requests import MAX_INT

Whole = Annotated[int, Field(ge=-MAX_INT, le=MAX_INT)]
Version = Annotated[int, Field(ge=1, le=MAX_INT)]
Name = Annotated[str, Field(min_length=1, max_length=200)]
STATES = ("running", "completed", "cancelled", "error")
State = Literal["running", "completed", "cancelled", "error"]


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


# -- errors ------------------------------------------------------------------------------------
class ErrorDetail(Model):
    """One problem: a field (``path[0].data``), or a BPMN element and line (and file)."""

    message: str
    field: str | None = None
    element_id: str | None = None
    line: int | None = None
    file: str | None = None
    severity: Literal["error", "warning"] | None = Field(
        None, description="a BPMN problem's: error (not deployed) or warning (ignored, harmless)"
    )


class Error(Model):
    code: str = Field(description="a slug, e.g. not_found, invalid_input, conflict")
    message: str
    details: list[ErrorDetail]


class ErrorOut(Model):
    error: Error


# -- signing in --------------------------------------------------------------------------------
class TokenIn(Model):
    username: Annotated[str, Field(min_length=1, max_length=80)]
    password: Annotated[str, Field(min_length=1, max_length=1000)]


class UserOut(Model):
    id: str
    username: str
    display_name: str
    roles: list[str]
    agency: str | None


class TokenOut(Model):
    token: str = Field(description="send as 'Authorization: Bearer <token>'")
    expires_at: datetime
    user: UserOut


class MeOut(Model):
    user: UserOut
    csrf_token: str | None = Field(None, description="only for browser-session callers")


class Health(Model):
    status: Literal["ok", "down"]
    db: Literal["ok", "down"]
    scheduler: str


# -- process definitions -----------------------------------------------------------------------
class Definition(Model):
    id: str
    key: str
    name: str | None
    version: int
    content_hash: str
    filename: str | None
    deployed_at: datetime
    deployed_by: str | None
    source: Literal["file", "api"] | None = Field(
        description="file: deployed from a file on disk (safeguard deploy); api: in the "
        "modeller or through the API; null: deployed before this was recorded"
    )
    note: str | None = Field(description="the change note given at deploy")


class DefinitionPage(Model):
    items: list[Definition]
    next_cursor: None


class Deployed(Definition):
    created: bool = Field(description="false: same content as the latest version, none made")


class DeployedMany(Model):
    items: list[Deployed]


class DeployResult(RootModel[Deployed | DeployedMany]):
    """One file: the definition; several: ``{items}``."""


class XmlQuery(Model):
    version: Version | None = Field(None, description="default: the latest")


class DeployQuery(Model):
    filename: Annotated[str, Field(max_length=400)] | None = None
    note: Annotated[str, Field(max_length=2000)] | None = Field(
        None, description="what changed and why, kept with the version (the version history)"
    )


class DiffQuery(Model):
    from_: Version | None = Field(
        None, alias="from", description="default: the version before `to`"
    )
    to: Version | None = Field(None, description="default: the latest")


class Change(Model):
    element_id: str
    element_name: str | None
    change: Literal["added", "removed", "renamed", "changed"]
    what: str = Field(description="step, flow, name, form field, due time, candidate groups, ...")
    text: str = Field(description="the change in plain words")
    field: str | None = Field(description="the form field's id, for a form field")
    before: str | None
    after: str | None


class Diff(Model):
    key: str
    from_: int = Field(alias="from")
    to: int
    changes: list[Change]


class Problem(Model):
    file: str
    element_id: str | None
    line: int | None
    message: str
    severity: Literal["error", "warning"] = Field(
        "error", description="error: not deployed; warning: ignored without harm"
    )


class ValidationReport(Model):
    problems: list[Problem]


class Step(Model):
    element_id: str
    data: dict[str, Any] | None = None


class SimulateIn(Model):
    path: list[Step] = Field(
        description="user tasks to complete, in order",
        examples=[[{"element_id": "describe", "data": {}}]],
    )
    variables: dict[str, Any] | None = None
    version: Version | None = None


class SimulationError(Model):
    message: str
    step: int | None = None
    element_id: str | None = None
    line: int | None = None


class Simulation(Model):
    reached: list[str]
    error: SimulationError | None
    waiting: list[str]
    completed: bool
    data: dict[str, str | int | float | bool | None]


# -- process instances -------------------------------------------------------------------------
class TaskOut(Model):
    id: str
    instance_id: str
    element_id: str
    name: str | None
    lane: str | None
    status: str
    assignee: str | None
    created_at: datetime
    due_at: datetime | None
    version: int


class ErrorAt(Model):
    element_id: str | None
    line: int | None
    message: str


class Instance(Model):
    id: str
    process_key: str
    definition_version: int | None
    business_key: str | None
    state: State
    started_at: datetime
    started_by: str | None
    ended_at: datetime | None
    error: ErrorAt | None
    version: int


class InstanceFull(Instance):
    variables: dict[str, Any]
    active_tasks: list[TaskOut]


class InstancePage(Model):
    items: list[Instance]
    next_cursor: str | None


class InstanceQuery(Model):
    process_key: str | None = None
    business_key: str | None = None
    state: State | None = None
    limit: Annotated[int, Field(ge=1, le=500)] = 50
    cursor: str | None = Field(None, description="next_cursor of the previous page")


class ChildRecordIn(Model):
    """The child's details, recorded once per child (records/children.py); blank means not
    given, and at most one of the two identifiers."""

    display_name: Annotated[str, Field(max_length=200)] | None = Field(None, examples=["Sam B."])
    date_of_birth: Annotated[str, Field(max_length=10)] | None = Field(
        None, description="YYYY-MM-DD (or DD/MM/YYYY); not in the future", examples=["2015-04-02"]
    )
    nhs_number: Annotated[str, Field(max_length=20)] | None = Field(
        None, description="10 digits with a valid modulus 11 check digit", examples=["9434765919"]
    )
    la_person_id: Annotated[str, Field(max_length=50)] | None = Field(
        None, description="the local authority's person id", examples=["LA-20417"]
    )


class StartInstance(Model):
    process_key: Name = Field(examples=["three_steps"])
    business_key: Annotated[str, Field(max_length=200)] | None = Field(None, examples=["child-1"])
    child_record: ChildRecordIn | None = Field(
        None,
        description="the child's details, kept unless the child has a record already "
        "(then ignored: the first record stays); needs business_key",
    )
    variables: dict[str, Any] | None = None
    version: Version | None = Field(None, description="default: the latest")


class Diagram(Model):
    xml: str
    active: list[str]
    overdue: list[str]
    completed: list[str]


class HistoryEvent(Model):
    at: datetime
    event: str
    by: str | None = None
    task: str | None = None
    name: str | None = None


class History(Model):
    items: list[HistoryEvent]
    next_cursor: None


class IfMatch(Model):
    if_match: str | None = Field(
        None, alias="If-Match", description="the instance version read; 409 if it moved on"
    )


class StartHeaders(Model):
    idempotency_key: str | None = Field(
        None,
        alias="Idempotency-Key",
        max_length=200,
        pattern="^[!-~]+$",
        description="any key unique to this start (e.g. a UUID): sent again with the same "
        "request, it answers the first start's instance (header Idempotent-Replayed: true) "
        "instead of starting a second case; kept a day",
    )


class MessageIn(Model):
    name: Annotated[str, Field(min_length=1, max_length=200)]
    payload: dict[str, Any] | None = None


class CancelIn(Model):
    reason: Annotated[str, Field(min_length=1, max_length=4000)]


class MigrateIn(Model):
    to_version: Version


class Migrated(Model):
    id: str
    process_key: str
    definition_version: int | None
    state: State
    version: int
