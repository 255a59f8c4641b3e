"""In-process cache of live workflow objects, keyed by instance id and row version.

A cached workflow is valid only while the instance row still has the version it was cached at;
any writer (this process or another) bumps the version, so a stale entry is never used to
overwrite: the versioned ``UPDATE`` of the save matches no row and the caller falls back to the
database. Entries are taken *out* while in use, so two requests of this process never share one
mutable object, and put back only after the transaction that produced them commits.

The cache also knows which instance each cached open user task belongs to, so completing a task
of a cached instance needs no ``SELECT`` at all.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

from SpiffWorkflow.bpmn import BpmnWorkflow


@dataclass(frozen=True)
class CachedInstance:
    version: int
    workflow: BpmnWorkflow
    open_task_ids: frozenset[str]


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

    def checkin(
        self,
        instance_id: str,
        version: int,
        workflow: BpmnWorkflow,
        open_task_ids: frozenset[str] | set[str],
    ) -> None:
        if self._capacity <= 0:
            return
        entry = CachedInstance(version, workflow, frozenset(open_task_ids))
        with self._lock:
            self._drop(instance_id)
            self._items[instance_id] = entry
            for task_id in entry.open_task_ids:
                self._task_owner[task_id] = instance_id
            while len(self._items) > self._capacity:
                self._drop(next(iter(self._items)))

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._task_owner.clear()
