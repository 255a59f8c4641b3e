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

    def __enter__(self) -> UnitOfWork:
        self.session = self._session_factory()
        self._after_commit = []
        self._before_commit = []
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if exc_type is not None:
                self.rollback()
        finally:
            self.session.close()

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
