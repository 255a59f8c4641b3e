"""The declarative base and the id every table uses, apart so that the table modules
(``models.py``, ``identity.py``) share them without importing each other."""

from __future__ import annotations

import uuid

from sqlalchemy.orm import DeclarativeBase


def new_id() -> str:
    return str(uuid.uuid4())


class Base(DeclarativeBase):
    pass
