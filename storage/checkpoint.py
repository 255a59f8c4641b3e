"""SQLite WAL checkpoints on a background thread, not inside somebody's commit.

By default SQLite checkpoints automatically: the commit that takes the write-ahead log past 1000
pages copies them into the database file and syncs it before it returns. Measured on the engine
benchmark (1 500 instances, 6 000 commits): one commit in 65 waited about 4 ms for that, and
those waits were over half of all the time spent committing. A practitioner whose "Complete"
happens to be that commit waits for everybody's pages.

So connections of a file database have automatic checkpoints off, and one daemon thread per
engine runs a ``PASSIVE`` checkpoint every ``interval`` seconds. ``PASSIVE`` never waits for a
lock and never blocks readers or writers; a checkpoint with nothing new to copy does no I/O.
Durability does not change: a commit is durable once its frames are in the log (WAL,
``synchronous=NORMAL``), checkpointed or not. The thread stops when the engine is disposed.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from pathlib import Path

from sqlalchemy import Engine, event

log = logging.getLogger(__name__)

INTERVAL = 0.5  # seconds between checkpoints


class Checkpointer:
    """Checkpoints one SQLite file's log on its own connection, until stopped."""

    def __init__(self, path: str, interval: float = INTERVAL):
        self.path = path
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name=f"sqlite-checkpoint {path}", daemon=True
        )

    def start(self) -> Checkpointer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        connection = None
        try:
            while not self._stop.wait(self.interval):
                if connection is None:
                    # mode=rw: never create a database where the engine's file has gone
                    uri = Path(self.path).absolute().as_uri() + "?mode=rw"
                    connection = sqlite3.connect(uri, uri=True, check_same_thread=False)
                connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        except sqlite3.Error as err:  # the file went away (a test's temp dir): nothing to keep
            log.info("sqlite checkpoints stopped for %s: %s", self.path, err)
        finally:
            if connection is not None:
                connection.close()


def checkpoint_in_background(engine: Engine, path: str, interval: float = INTERVAL) -> Checkpointer:
    """Run ``engine``'s checkpoints on a thread; its connections must not checkpoint themselves
    (``PRAGMA wal_autocheckpoint=0``, set by ``storage.database``)."""
    checkpointer = Checkpointer(path, interval).start()
    event.listen(engine, "engine_disposed", lambda _connection: checkpointer.stop())
    return checkpointer
