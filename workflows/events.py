"""What one advance of an instance produced, for the layers above to act on.

The engine does not know about people, due dates or notifications; it reports what happened and
the caller (``tasks``, ``service``) decides what that means.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any


@dataclass(frozen=True)
class PendingTimer:
    task_id: str
    element_id: str
    name: str | None
    due_at: datetime


@dataclass(frozen=True)
class ThrownMessage:
    """A message the instance threw to the outside (e.g. "start a referral for this child")."""

    name: str
    payload: dict


@dataclass(frozen=True)
class ScriptRun:
    """A script task that completed during the advance, with its task data afterwards.

    ``data`` is the live task's dict: read it, do not change it. Whoever acts on a script's
    output (e.g. the sharing register on ``register_entry``) can use ``task_id`` to act once.
    ``inherited`` is the data the script started from (its parent task's): a value equal there
    was carried in, not produced by this script (:meth:`produced`).
    """

    task_id: str
    element_id: str
    data: dict
    inherited: dict = field(default_factory=dict)

    def produced(self, name: str) -> dict | None:
        """The dict this script itself left under ``name``, or None: absent, not a dict, or
        carried in unchanged from before the script (e.g. planted by a caller earlier)."""
        value = self.data.get(name)
        if not isinstance(value, dict) or self.inherited.get(name) == value:
            return None
        return value


@dataclass(frozen=True)
class InstanceFacts:
    """An instance as plain values, as it stands after an advance.

    The first group never changes after the start (a migration aside, which moves
    ``definition_id``), so the instance cache keeps it beside the workflow and a step of a cached
    instance knows the child and the starter without reading the row. The field names are the
    row's, so whatever shapes a row (``service/api/shapes.instance``) shapes these too.
    """

    id: str
    process_key: str
    definition_id: str
    business_key: str | None
    started_by: str | None
    started_from: str | None
    started_at: datetime
    # What each step changes:
    version: int = 1
    status: str = "running"
    error: dict | None = None
    ended_at: datetime | None = None

    def __post_init__(self) -> None:
        # In UTC, as the row reads back (storage.types.UTCDateTime), whatever the clock's zone.
        object.__setattr__(self, "started_at", _utc(self.started_at))
        object.__setattr__(self, "ended_at", _utc(self.ended_at))

    @property
    def case_key(self) -> str:
        """The case key: the business key, or the instance's own id without one
        (``tasks.parties.case_key``)."""
        return self.business_key or self.id

    @classmethod
    def of(cls, row: Any) -> InstanceFacts:
        """The facts of a ``process_instance`` row (or anything with its attributes)."""
        return cls(
            id=row.id,
            process_key=row.process_key,
            definition_id=row.definition_id,
            business_key=row.business_key,
            started_by=row.started_by,
            started_from=row.started_from,
            started_at=row.started_at,
            version=row.version,
            status=row.status,
            error=row.error,
            ended_at=row.ended_at,
        )


@dataclass(frozen=True)
class OpenedTask:
    """A user task that opened in an advance: the values of the row that was inserted.

    Times are in UTC, as the row reads back (``storage.types.UTCDateTime``), so an answer built
    from these is the one a read of the row would give.
    """

    id: str
    instance_id: str
    element_id: str
    name: str | None
    lane: str | None
    candidate_roles: tuple[str, ...]
    created_at: datetime
    status: str = "open"
    assignee: str | None = None
    other_agency: str | None = None
    due_at: datetime | None = None
    version: int = 1
    identity_withheld: bool = False

    @classmethod
    def of_row(cls, row: Mapping[str, Any]) -> OpenedTask:
        """From the dict the ``INSERT`` was given (``workflows.outcome.task_rows``)."""
        return cls(
            **{
                **row,
                "candidate_roles": tuple(row.get("candidate_roles") or ()),
                "created_at": _utc(row["created_at"]),
                "due_at": _utc(row.get("due_at")),
                "identity_withheld": bool(row.get("identity_withheld")),
            }
        )


@dataclass(frozen=True)
class Advance:
    """What one step of an instance did, as plain values: nothing here is a database row, so
    a consumer never reads the instance again to learn what it already was (its child, its
    starter, the hand-off it came from).

    ``still_open``: the user tasks open before the step and still open (their rows may have
    been claimed or given more time since; only their ids are known here). ``variables``: the
    instance's data after the step, as a read of the instance shows it (read it, do not change
    it). ``had_timers``: the workflow waited on a BPMN timer before the step, so timer rows of
    the instance may need cancelling even if it waits on none now.
    """

    instance: InstanceFacts
    opened: tuple[OpenedTask, ...] = ()
    closed: tuple[str, ...] = ()
    still_open: tuple[str, ...] = ()
    timers: tuple[PendingTimer, ...] = ()
    messages: tuple[ThrownMessage, ...] = ()
    scripts: tuple[ScriptRun, ...] = ()
    variables: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    had_timers: bool = False

    @property
    def ended(self) -> bool:
        """Completed, cancelled or failed: its timers and inbox items are cleared."""
        return self.instance.status != "running"

    @property
    def error(self) -> dict | None:
        """Why the step failed (a script or condition), as saved on the instance."""
        return self.instance.error

    @property
    def case_key(self) -> str:
        """The case key (the business key, or the instance's id): what hand-offs and records
        are filed under."""
        return self.instance.case_key

    def with_opened(self, opened: Iterable[OpenedTask]) -> Advance:
        """The same advance with the opened tasks as the service settled them (their default
        assignee kept or not, an anchored due time moved)."""
        return replace(self, opened=tuple(opened))


def _utc(value: datetime | None) -> datetime | None:
    return value.astimezone(UTC) if value is not None else None
