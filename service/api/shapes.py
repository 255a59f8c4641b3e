"""How rows look in JSON responses (one place, so every route agrees)."""

from __future__ import annotations

import json
from datetime import datetime

from service.errors import ApiError
from storage.models import ProcessDefinition, ProcessInstance, Task


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def definition(row: ProcessDefinition) -> dict:
    return {
        "id": row.id,
        "key": row.key,
        "name": row.name,
        "version": row.version,
        "content_hash": row.content_hash,
        "filename": row.filename,
        "deployed_at": iso(row.deployed_at),
        "deployed_by": row.deployed_by,
        "source": row.source,
        "note": row.note,
    }


def task(row: Task) -> dict:
    return {
        "id": row.id,
        "instance_id": row.instance_id,
        "element_id": row.element_id,
        "name": row.name,
        "lane": row.lane,
        "status": row.status,
        "assignee": row.assignee,
        "created_at": iso(row.created_at),
        "due_at": iso(row.due_at),
        "version": row.version,
    }


def worklist_task(row: Task, process_key: str | None, now: datetime) -> dict:
    """A task as the worklist shows it (api.md, "Tasks")."""
    return {
        "id": row.id,
        "instance_id": row.instance_id,
        "process_key": process_key,
        "name": row.name,
        "element_id": row.element_id,
        "role": row.lane,
        "assignee": row.assignee,
        "candidate_roles": list(row.candidate_roles or ()),
        "created_at": iso(row.created_at),
        "due_at": iso(row.due_at),
        "reminded_at": None,
        "overdue": row.due_at is not None and row.due_at < now and row.status == "open",
        "priority": None,
        "version": row.version,
    }


def jsonable(data: dict) -> dict:
    """Task data as JSON (dates and other objects from scripts become strings)."""
    return json.loads(json.dumps(data, default=str))


def instance(row: ProcessInstance, definition_version: int | None = None) -> dict:
    return {
        "id": row.id,
        "process_key": row.process_key,
        "definition_version": definition_version,
        "business_key": row.business_key,
        "state": row.status,
        "started_at": iso(row.started_at),
        "started_by": row.started_by,
        "ended_at": iso(row.ended_at),
        "error": row.error,
        "version": row.version,
    }


def parse_iso(value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ApiError(400, "bad_request", f"{value[:40]!r} is not an ISO 8601 time.") from None
    if parsed.tzinfo is None:
        raise ApiError(400, "bad_request", f"{value[:40]!r} needs a UTC offset.")
    return parsed
