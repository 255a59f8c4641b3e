"""The bottom layer: SQLAlchemy models, the database engine and the unit of work.

Everything above (``workflows``, ``tasks``, ``service``) reaches the database through here and
nothing here imports from those packages.
"""

from storage import children  # noqa: F401  (its table joins Base.metadata)
from storage.database import DEFAULT_DATABASE_URL, database_url, make_engine, make_session_factory
from storage.uow import UnitOfWork

__all__ = [
    "DEFAULT_DATABASE_URL",
    "UnitOfWork",
    "database_url",
    "make_engine",
    "make_session_factory",
]
