"""What one advance of an instance produced, for the layers above to act on.

The engine does not know about people, due dates or notifications; it reports what happened and
the caller (``tasks``, ``service``) decides what that means.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from storage.models import ProcessInstance, Task


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


@dataclass
class Advance:
    instance: ProcessInstance
    opened: list[Task] = field(default_factory=list)
    closed: list[str] = field(default_factory=list)
    timers: list[PendingTimer] = field(default_factory=list)
    ended: bool = False
    error: dict | None = None
    messages: list[ThrownMessage] = field(default_factory=list)
    scripts: list[ScriptRun] = field(default_factory=list)
