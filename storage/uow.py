"""One unit of work per request or job: one session, one commit, callbacks after the commit."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session, sessionmaker


class UnitOfWork:
    """A session plus work to run only once its transaction is durable.

    Caches and notifications must never see a state the database did not keep, so anything that
    publishes the outcome of the work registers itself with :meth:`on_commit` instead of acting
    immediately.
    """

    def __init__(self, session_factory: sessionmaker[Session]):
        self._session_factory = session_factory
        self.session: Session | None = None
        self._after_commit: list[Callable[[], None]] = []
        self._before_commit: list[Callable[[], None]] = []
        self._on_close: list[Callable[[], None]] = []
        # What layers above hold for the length of this unit (e.g. workflows lent for reading).
        self.scratch: dict[str, object] = {}

    def __enter__(self) -> UnitOfWork:
        self.session = self._session_factory()
        self._after_commit = []
        self._before_commit = []
        self._on_close = []
        self.scratch = {}
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if exc_type is not None:
                self.rollback()
        finally:
            self.session.close()
            callbacks, self._on_close = self._on_close, []
            for callback in callbacks:
                callback()

    def on_close(self, callback: Callable[[], None]) -> None:
        """Run when the unit ends, committed or not (give back what it held)."""
        self._on_close.append(callback)

    def on_commit(self, callback: Callable[[], None]) -> None:
        self._after_commit.append(callback)

    def before_commit(self, callback: Callable[[], None]) -> None:
        """Work that must be in the same transaction, done last (the audit event of a change)."""
        self._before_commit.append(callback)

    def commit(self) -> None:
        callbacks, self._before_commit = self._before_commit, []
        for callback in callbacks:
            callback()
        self.session.commit()
        callbacks, self._after_commit = self._after_commit, []
        for callback in callbacks:
            callback()

    def rollback(self) -> None:
        self._after_commit = []
        self._before_commit = []
        self.session.rollback()
