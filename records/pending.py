"""Audit events of reads, queued in the process and inserted in batches.

A read (or a refusal) changes nothing, so its event need not share a transaction with anything:
writing it per request would cost every GET a transaction of its own (on SQLite, the write
lock). Instead :meth:`ReadQueue.put` keeps the row in memory and it is inserted, many rows in
one INSERT, by whichever comes first:

- the end of this process's next write (``trail``: the rows ride in that transaction, and go
  back to the queue if it rolls back);
- the background flusher (``start``: every ``AUDIT_FLUSH_SECONDS``, sooner once
  ``AUDIT_FLUSH_ROWS`` are waiting), started with the timer scheduler in serving processes;
- the auditor reading the trail (``GET /api/audit`` flushes first);
- a clean shutdown: ``close`` from gunicorn's ``worker_exit``, and ``atexit`` for every queue.

The same flush also runs the bookkeeping updates a read could not write at once without waiting
for SQLite's writer (:meth:`ReadQueue.defer`, e.g. a session's "last seen"): the newest
statement per key, applied after the rows.

A failed flush puts the rows back and is tried again. What a ``kill -9`` (or a power cut) loses
is what was queued at that moment: at most ``AUDIT_FLUSH_SECONDS`` of this process's reads
(docs/security.md, "The audit trail"). Changes are never queued: their event is in their own
transaction.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
import weakref
from collections.abc import Hashable
from typing import Any

from sqlalchemy import Executable, insert
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from storage.database import is_write_conflict, read_only
from storage.models import AuditEvent

log = logging.getLogger(__name__)

_QUEUES: weakref.WeakSet[ReadQueue] = weakref.WeakSet()
_ATTEMPTS = 50


class ReadQueue:
    """This process's audit events waiting to be inserted (one queue per app)."""

    def __init__(self, session_factory: sessionmaker[Session], flush_rows: int = 200):
        self._session_factory = session_factory
        self._rows: list[dict[str, Any]] = []
        self._updates: dict[Hashable, Executable] = {}
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pid = os.getpid()
        self.flush_rows = flush_rows
        _QUEUES.add(self)

    def __len__(self) -> int:
        return len(self._rows) + len(self._updates)

    def put(self, row: dict[str, Any]) -> None:
        """Queue one event's columns (``audit.row``); inserted by the next flush."""
        with self._lock:
            self._rows.append(row)
            full = len(self._rows) >= self.flush_rows
        if full and self._thread is not None:
            self._wake.set()

    def defer(self, key: Hashable, statement: Executable) -> None:
        """Run ``statement`` with the next flush; a later statement with the same key replaces it
        (only the newest "last seen" matters)."""
        with self._lock:
            self._updates[key] = statement
        if self._thread is not None:
            self._wake.set()

    def take(self) -> list[dict[str, Any]]:
        """Everything queued, removed from the queue (give it back with :meth:`give_back`)."""
        with self._lock:
            rows, self._rows = self._rows, []
        return rows

    def give_back(self, rows: list[dict[str, Any]]) -> None:
        """Rows whose insert did not commit go back to the front, keeping their order."""
        if rows:
            with self._lock:
                self._rows[:0] = rows

    def flush(self) -> int:
        """Insert everything queued in one transaction; how many rows. Raises if it cannot."""
        with self._flush_lock:
            rows = self.take()
            with self._lock:
                updates, self._updates = self._updates, {}
            if not rows and not updates:
                return 0
            for attempt in range(_ATTEMPTS):
                try:
                    with read_only(False), self._session_factory() as session, session.begin():
                        if rows:
                            session.execute(insert(AuditEvent), rows)
                        for statement in updates.values():
                            session.execute(statement)
                    return len(rows)
                except OperationalError as err:
                    # SQLite busy past its timeout: wait for our turn (the rows are not lost).
                    if is_write_conflict(err) and attempt < _ATTEMPTS - 1:
                        time.sleep(0.01)
                        continue
                    self._give_back_all(rows, updates)
                    raise
                except BaseException:
                    self._give_back_all(rows, updates)
                    raise
        return 0

    def _give_back_all(self, rows: list[dict[str, Any]], updates: dict) -> None:
        self.give_back(rows)
        with self._lock:
            self._updates = {**updates, **self._updates}

    # -- the background flusher ---------------------------------------------------------------
    def start(self, seconds: float) -> None:
        """Flush every ``seconds`` (and when ``flush_rows`` are waiting) in a daemon thread."""
        if seconds <= 0 or (self._thread is not None and self._pid == os.getpid()):
            return
        self._pid = os.getpid()  # a forked worker starts its own thread
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._run, args=(seconds,), name="audit-flush", daemon=True
        )
        self._thread.start()

    def _run(self, seconds: float) -> None:
        while not self._stop.is_set():
            self._wake.wait(seconds)
            self._wake.clear()
            try:
                self.flush()
            except Exception:  # the database is away: the rows wait for the next try
                log.exception("could not insert queued audit events; will retry")

    def close(self) -> int:
        """Stop the flusher and insert what is left (clean shutdown); how many rows."""
        self._stop.set()
        self._wake.set()
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=10)
        return self.flush()


@atexit.register
def _flush_all() -> None:
    """On a clean exit of the interpreter, no queued event is left behind."""
    for queue in list(_QUEUES):
        if len(queue):
            try:
                queue.close()
            except Exception:
                log.exception("could not insert %d queued audit events at exit", len(queue))
