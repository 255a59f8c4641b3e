"""In-process cache of live workflow objects, keyed by instance id and row version.

A cached workflow is valid only while the instance row still has the version it was cached at;
any writer (this process or another) bumps the version, so a stale entry is never used to
overwrite: the versioned ``UPDATE`` of the save matches no row and the caller falls back to the
database. Entries are taken *out* while in use, so two requests of this process never share one
mutable object, and put back only after the transaction that produced them commits.

The cache also knows which instance each cached open user task belongs to, so completing a task
of a cached instance needs no ``SELECT`` at all.

A request that only reads a workflow (to show a task's form, an instance's variables) *borrows*
the entry for its unit of work (:meth:`InstanceCache.lend`) instead of putting it straight back:
otherwise another thread could take the same object out and run it while the reader is still
looking at it (a task "no longer waiting" in the middle of a GET, a dict changing size during
iteration). The unit's own changes reclaim what it borrowed; what is left goes back to the cache
when the unit closes, unless a newer version got there first.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

from SpiffWorkflow.bpmn import BpmnWorkflow

from storage.uow import UnitOfWork
from workflows.events import InstanceFacts

LENT = "workflows.lent"  # key of ``UnitOfWork.scratch``: {instance id: CachedInstance}


@dataclass(frozen=True)
class CachedInstance:
    """A live workflow at one row version, with the row's facts at that version (the child,
    the starter, ...) so that a step of it needs no read to say what the instance is."""

    workflow: BpmnWorkflow
    open_task_ids: frozenset[str]
    facts: InstanceFacts

    @property
    def version(self) -> int:
        return self.facts.version


class InstanceCache:
    def __init__(self, capacity: int = 2000):
        self._capacity = capacity
        self._lock = threading.Lock()
        self._items: OrderedDict[str, CachedInstance] = OrderedDict()
        self._task_owner: dict[str, str] = {}

    def _drop(self, instance_id: str) -> CachedInstance | None:
        entry = self._items.pop(instance_id, None)
        if entry is not None:
            for task_id in entry.open_task_ids:
                self._task_owner.pop(task_id, None)
        return entry

    def take(self, instance_id: str) -> CachedInstance | None:
        """Remove and return the entry, whatever its version."""
        with self._lock:
            return self._drop(instance_id)

    def checkout(self, instance_id: str, version: int) -> BpmnWorkflow | None:
        """The cached workflow if it was cached at ``version``; the entry leaves the cache."""
        entry = self.take(instance_id)
        if entry is None or entry.version != version:
            return None
        return entry.workflow

    def owner_of(self, task_id: str) -> str | None:
        return self._task_owner.get(task_id)

    def checkin(self, entry: CachedInstance) -> None:
        if self._capacity <= 0:
            return
        with self._lock:
            self._checkin_locked(entry.facts.id, entry)

    def _checkin_locked(self, instance_id: str, entry: CachedInstance) -> None:
        if self._capacity <= 0:
            return
        self._drop(instance_id)
        self._items[instance_id] = entry
        for task_id in entry.open_task_ids:
            self._task_owner[task_id] = instance_id
        while len(self._items) > self._capacity:
            self._drop(next(iter(self._items)))

    # -- lending to one unit of work ---------------------------------------------------------
    def lend(self, uow: UnitOfWork, entry: CachedInstance) -> None:
        """Hold ``entry``'s workflow for ``uow`` (nobody else gets it) until the unit closes."""
        lent = uow.scratch.get(LENT)
        if lent is None:
            lent = uow.scratch[LENT] = {}
            uow.on_close(lambda: self._give_back(lent))
        lent[entry.facts.id] = entry

    def borrowed(self, uow: UnitOfWork, instance_id: str, version: int) -> BpmnWorkflow | None:
        """What ``uow`` already holds of the instance at ``version`` (for reading again)."""
        entry = uow.scratch.get(LENT, {}).get(instance_id)
        return entry.workflow if entry is not None and entry.version == version else None

    def reclaim(self, uow: UnitOfWork, instance_id: str) -> CachedInstance | None:
        """Take back what ``uow`` borrowed, to change it: it will not be given back."""
        return uow.scratch.get(LENT, {}).pop(instance_id, None)

    def reclaim_owner_of(self, uow: UnitOfWork, task_id: str) -> tuple[str, CachedInstance] | None:
        """The borrowed instance that has ``task_id`` open, taken back to change it."""
        lent = uow.scratch.get(LENT, {})
        for instance_id, entry in list(lent.items()):
            if task_id in entry.open_task_ids:
                return instance_id, lent.pop(instance_id)
        return None

    def _give_back(self, lent: dict[str, CachedInstance]) -> None:
        with self._lock:
            for instance_id, entry in lent.items():
                current = self._items.get(instance_id)
                if current is not None and current.version >= entry.version:
                    continue  # a newer (or the same) state came back meanwhile
                self._checkin_locked(instance_id, entry)
            lent.clear()

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._task_owner.clear()
