"""In-process cache of live workflow objects, keyed by instance id and row version.

A cached workflow is valid only while the instance row still has the version it was cached at;
any writer (this process or another) bumps the version, so a stale entry is never used. Entries are
checked *out* while in use, so two requests of this process never share one mutable object, and
checked back in only after the transaction that produced them commits.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from SpiffWorkflow.bpmn import BpmnWorkflow


class InstanceCache:
    def __init__(self, capacity: int = 2000):
        self._capacity = capacity
        self._lock = threading.Lock()
        self._items: OrderedDict[str, tuple[int, BpmnWorkflow]] = OrderedDict()

    def checkout(self, instance_id: str, version: int) -> BpmnWorkflow | None:
        with self._lock:
            entry = self._items.pop(instance_id, None)
        if entry is None or entry[0] != version:
            return None
        return entry[1]

    def checkin(self, instance_id: str, version: int, workflow: BpmnWorkflow) -> None:
        if self._capacity <= 0:
            return
        with self._lock:
            self._items[instance_id] = (version, workflow)
            self._items.move_to_end(instance_id)
            while len(self._items) > self._capacity:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
