"""SQLite WAL checkpoints on a background thread, not inside somebody's commit.

By default SQLite checkpoints automatically: the commit that takes the write-ahead log past 1000
pages copies them into the database file and syncs it before it returns. Measured on the engine
benchmark (1 500 instances, 6 000 commits): one commit in 65 waited about 4 ms for that, and
those waits were over half of all the time spent committing. A practitioner whose "Complete"
happens to be that commit waits for everybody's pages.

So connections of a file database have automatic checkpoints off, and a daemon thread runs a
``PASSIVE`` checkpoint every ``interval`` seconds. ``PASSIVE`` never waits for a lock and never
blocks readers or writers; a checkpoint with nothing new to copy does no I/O. Durability does
not change: a commit is durable once its frames are in the log (WAL, ``synchronous=NORMAL``),
checkpointed or not.

One thread per engine and process: it starts with the engine's first connection in a process
(so a worker forked from a master that had one gets its own), stops when the engine is
disposed, and starts again if the engine is used after that.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from pathlib import Path

from sqlalchemy import Engine, event

log = logging.getLogger(__name__)

INTERVAL = 0.5  # seconds between checkpoints


class Checkpointer:
    """Checkpoints one SQLite file's log on its own connection while the engine is in use."""

    def __init__(self, path: str, interval: float = INTERVAL):
        self.path = path
        self.interval = interval
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pid: int | None = None

    def ensure_running(self) -> None:
        with self._lock:
            thread = self._thread
            running = thread is not None and thread.is_alive() and not self._stop.is_set()
            if running and self._pid == os.getpid():
                return
            self._stop = threading.Event()
            self._pid = os.getpid()
            self._thread = threading.Thread(
                target=self._run, args=(self._stop,), name=f"sqlite-checkpoint {self.path}"
            )
            self._thread.daemon = True
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _run(self, stop: threading.Event) -> None:
        connection = None
        try:
            while not stop.wait(self.interval):
                if not os.path.exists(self.path):
                    return  # the database went away (a test's temp dir): nothing to keep
                try:
                    if connection is None:
                        # mode=rw: never create a database where the engine's file has gone
                        uri = Path(self.path).absolute().as_uri() + "?mode=rw"
                        connection = sqlite3.connect(uri, uri=True, check_same_thread=False)
                    connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                except sqlite3.Error as err:  # busy with another process's checkpoint: next time
                    log.debug("sqlite checkpoint of %s skipped: %s", self.path, err)
        finally:
            if connection is not None:
                connection.close()


def checkpoint_in_background(engine: Engine, path: str, interval: float = INTERVAL) -> Checkpointer:
    """Run ``engine``'s checkpoints on a thread; its connections must not checkpoint themselves
    (``PRAGMA wal_autocheckpoint=0``, set by ``storage.database``)."""
    checkpointer = Checkpointer(path, interval)
    event.listen(engine, "connect", lambda _dbapi, _record: checkpointer.ensure_running())
    event.listen(engine, "engine_disposed", lambda _connection: checkpointer.stop())
    return checkpointer
