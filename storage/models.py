"""The tables everything shares.

The worklist reads ``task`` rows only; it never deserialises an instance. An instance's full engine
state lives in ``process_instance.state`` (loaded only when needed) and refers to its definition's
parsed spec by id instead of embedding it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from storage.administration import Agency, PasswordReset  # noqa: F401 (named here too)
from storage.away import AwayPeriod  # noqa: F401 (alembic sees every table through this module)
from storage.base import Base, new_id
from storage.identity import (  # noqa: F401 (named here with the rest)
    ExternalIdentity,
    LoginThrottle,
    UserSession,
)
from storage.registers import (  # noqa: F401 (named here with the rest)
    UNSEALED,
    AppendOnlyError,
    AuditEvent,
    AuditSeal,
    Consent,
    SharingRecord,
)
from storage.types import UTCDateTime


class User(Base):
    __tablename__ = "app_user"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))
    agency: Mapped[str | None] = mapped_column(String(80))
    roles: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Indexed (migration 0009): the team view and need-to-know look up who a manager manages.
    manager_id: Mapped[str | None] = mapped_column(ForeignKey("app_user.id"), index=True)
    password_hash: Mapped[str | None] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Login throttling: consecutive failures, when the last one happened, and a lock.
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    last_failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ApiToken(Base):
    """A bearer token; only its SHA-256 is kept, so a stolen database yields no usable token."""

    __tablename__ = "api_token"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("app_user.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # For the idle limit (TOKEN_IDLE_MINUTES); written at most once a minute, like sessions.
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ProcessDefinition(Base):
    __tablename__ = "process_definition"
    __table_args__ = (UniqueConstraint("key", "version", name="uq_process_definition_key_version"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    key: Mapped[str] = mapped_column(String(200))
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str | None] = mapped_column(String(400))
    filename: Mapped[str | None] = mapped_column(String(400))
    xml: Mapped[str] = mapped_column(Text, deferred=True)
    content_hash: Mapped[str] = mapped_column(String(64))
    deployed_by: Mapped[str | None] = mapped_column(String(80))
    deployed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # "file" (safeguard deploy, make run) or "api" (the modeller, an API client); NULL: before
    # migration 0019 and not known. workflows/file_deploys.py decides from these whether a file
    # may make a new version.
    source: Mapped[str | None] = mapped_column(String(10))
    # The file content (sha256) this version was deployed from, or found equal to, on disk.
    file_hash: Mapped[str | None] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(Text)  # the change note asked for at deploy


class ProcessInstance(Base):
    __tablename__ = "process_instance"
    __table_args__ = (
        Index("ix_process_instance_business_key", "business_key"),
        Index("ix_process_instance_key_status", "process_key", "status"),
        # The case key (need-to-know probes, tasks/parties.py case_visible); migration 0009.
        Index("ix_process_instance_case", text("coalesce(business_key, id)")),
        # The hand-offs an instance led to (need-to-know, tasks/parties.py); migration 0012.
        # Partial: most instances are no hand-off, and an index whose every key is NULL makes
        # SQLite's planner expect every row per lookup and scan instead (12 s a worklist page).
        Index(
            "ix_process_instance_started_from",
            "started_from",
            postgresql_where=text("started_from IS NOT NULL"),
            sqlite_where=text("started_from IS NOT NULL"),
        ),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    definition_id: Mapped[str] = mapped_column(ForeignKey("process_definition.id"))
    process_key: Mapped[str] = mapped_column(String(200))
    business_key: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20))  # running | completed | cancelled | error
    state: Mapped[str] = mapped_column(Text, deferred=True)
    version: Mapped[int] = mapped_column(Integer)
    error: Mapped[dict | None] = mapped_column(JSON)
    started_by: Mapped[str | None] = mapped_column(String(80))
    # The instance whose step started this one (a hand-off); its parties see that one too.
    started_from: Mapped[str | None] = mapped_column(String(36))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancel_reason: Mapped[str | None] = mapped_column(Text)

    __mapper_args__ = {"version_id_col": version}


class Task(Base):
    """One row per user task that is or was waiting for a person."""

    __tablename__ = "task"
    __table_args__ = (
        Index("ix_task_instance_status", "instance_id", "status"),
        Index("ix_task_status_lane", "status", "lane"),
        Index("ix_task_assignee_status_due", "assignee", "status", "due_at"),
        # Open tasks in worklist order: no due time last, then due_at, id. Spelt as the
        # expression ``due_at IS NULL`` (not NULLS LAST, which SQLite's planner cannot take from
        # an index). PostgreSQL also gets an MCV statistic on (status, assignee) in migration
        # 0009 so the planner walks this index.
        Index(
            "ix_task_open_due",
            text("(due_at IS NULL)"),
            "due_at",
            "id",
            postgresql_where=text("status = 'open'"),
            sqlite_where=text("status = 'open'"),
        ),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    instance_id: Mapped[str] = mapped_column(ForeignKey("process_instance.id"))
    element_id: Mapped[str] = mapped_column(String(200))
    name: Mapped[str | None] = mapped_column(String(400))
    lane: Mapped[str | None] = mapped_column(String(200))
    candidate_roles: Mapped[list[str] | None] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(20))  # open | completed | cancelled
    assignee: Mapped[str | None] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_by: Mapped[str | None] = mapped_column(String(80))
    data: Mapped[dict | None] = mapped_column(JSON)
    version: Mapped[int] = mapped_column(Integer)
    # Advice without identity (docs/security.md): the diagram's ``withhold_identity_when`` held
    # when the task opened, so doing it makes nobody a party and its views name no child.
    # The database's default only: the hot path's prepared INSERT leaves out a column it is not
    # given, and a Python-side default there would be sent as NULL.
    identity_withheld: Mapped[bool] = mapped_column(Boolean, server_default=false())
    # A second agency whose agency-scoped roles may take the task (``other_agency_from``,
    # workflows/grants.py), set when it opens; NULL: only the starter's agency.
    other_agency: Mapped[str | None] = mapped_column(String(40))

    __mapper_args__ = {"version_id_col": version}


class TaskCandidate(Base):
    """A role that may claim an open task; the worklist's "candidate" view joins on it."""

    __tablename__ = "task_candidate"
    __table_args__ = (Index("ix_task_candidate_role", "role", "task_id"),)

    task_id: Mapped[str] = mapped_column(ForeignKey("task.id"), primary_key=True)
    role: Mapped[str] = mapped_column(String(80), primary_key=True)


class Timer(Base):
    """A due time that must fire once: task due/reminder/escalation times and BPMN timer events.

    The table, not the in-memory scheduler, is the source of truth, so timers survive restarts
    and several service processes can share the work (each row is claimed by one of them).
    """

    __tablename__ = "timer"
    __table_args__ = (
        Index("ix_timer_status_due", "status", "due_at"),
        Index("ix_timer_instance_status", "instance_id", "status"),
        Index("ix_timer_task_kind", "task_id", "kind"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    kind: Mapped[str] = mapped_column(String(40))  # task_due | task_reminder | bpmn_timer | ...
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    instance_id: Mapped[str | None] = mapped_column(ForeignKey("process_instance.id"))
    # A task row id or a SpiffWorkflow task id (BPMN timer events have no task row): no FK.
    task_id: Mapped[str | None] = mapped_column(String(36))
    payload: Mapped[dict | None] = mapped_column(JSON)
    # pending | claimed | fired | cancelled | failed (given up)
    status: Mapped[str] = mapped_column(String(20))
    claimed_by: Mapped[str | None] = mapped_column(String(120))
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)  # lease expiry
    fired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Notification(Base):
    """An in-app message to one person (reminders, overdue notices, escalations, information).

    ``title`` names the step and its due time only, never the child or the case's data, because
    the same words go into emails that leave the service; ``link`` is where the work is done.
    """

    __tablename__ = "notification"
    __table_args__ = (Index("ix_notification_user_read", "username", "read_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    username: Mapped[str] = mapped_column(String(80))
    kind: Mapped[str] = mapped_column(String(20))  # reminder | overdue | escalation | info
    task_id: Mapped[str | None] = mapped_column(String(36))
    instance_id: Mapped[str | None] = mapped_column(String(36))
    title: Mapped[str] = mapped_column(String(400))
    link: Mapped[str | None] = mapped_column(String(400))
    # In-app only (behind sign-in), never emailed: e.g. a manager's reason for a new due time.
    body: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    emailed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Escalation(Base):
    """An item in a manager's inbox: an overdue task, a disagreement at their stage, a request
    for advice. Addressed to a named manager, or — when nobody is named — to a role (the team
    manager of that role, within the agency of ``agency`` when the role works inside one)."""

    __tablename__ = "escalation"
    __table_args__ = (
        Index("ix_escalation_manager_status", "manager_username", "status"),
        Index("ix_escalation_task_status", "task_id", "status"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    kind: Mapped[str] = mapped_column(String(30))  # overdue_task | disagreement | advice_request
    task_id: Mapped[str | None] = mapped_column(String(36))
    instance_id: Mapped[str | None] = mapped_column(String(36))
    manager_username: Mapped[str | None] = mapped_column(String(80))
    role: Mapped[str | None] = mapped_column(String(80))
    agency: Mapped[str | None] = mapped_column(String(80))
    since: Mapped[datetime] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(20))  # open | resolved
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_by: Mapped[str | None] = mapped_column(String(80))
    resolution: Mapped[str | None] = mapped_column(Text)
    # What the item itself says, for readers who may not open the case (the board's copy of a
    # stage-3 escalation notice: stage, agencies, notice text).
    details: Mapped[dict | None] = mapped_column(JSON)


class StartRequest(Base):
    """A start asked for with a request key (``Idempotency-Key``, or the start form's hidden
    key): the same key again gets the same instance instead of a second case for the child."""

    __tablename__ = "start_request"
    __table_args__ = (Index("ix_start_request_created_at", "created_at"),)

    username: Mapped[str] = mapped_column(String(80), primary_key=True)
    request_key: Mapped[str] = mapped_column(String(200), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))  # sha256 of what was asked
    instance_id: Mapped[str | None] = mapped_column(ForeignKey("process_instance.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
