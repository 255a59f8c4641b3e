"""The caller's in-app notifications (api.md, "Escalations and notifications").

Only one's own: another person's notification is reported as missing (404), not forbidden.
"""

from __future__ import annotations

from flask import Blueprint, jsonify, request
from sqlalchemy import and_, or_, select

from service.access import access
from service.api import shapes
from service.api.requests import decode_cursor, encode_cursor, limit_arg
from service.api.schemas_work import NotificationOut, NotificationPage, NotificationQuery
from service.auth import current_user
from service.context import services, uow
from service.errors import ApiError
from service.openapi import spec
from storage.models import Notification
from tasks import notify

bp = Blueprint("notifications", __name__)


def notification_json(row: Notification) -> dict:
    return {
        "id": row.id,
        "kind": row.kind,
        "title": row.title,
        "body": row.body,
        "link": row.link,
        "task_id": row.task_id,
        "instance_id": row.instance_id,
        "created_at": shapes.iso(row.created_at),
        "read_at": shapes.iso(row.read_at),
        "emailed_at": shapes.iso(row.emailed_at),
    }


@bp.get("")
@access(anyone=True)
@spec(
    "My in-app reminders, newest first", query=NotificationQuery, responses={200: NotificationPage}
)
def list_notifications():
    """Newest first; ``?unread=true`` for those not yet read."""
    query = select(Notification).where(Notification.username == current_user().username)
    unread = request.args.get("unread", "").lower()
    if unread not in ("", "true", "false"):
        raise ApiError(400, "bad_request", "unread must be true or false.")
    if unread == "true":
        query = query.where(Notification.read_at.is_(None))
    cursor = decode_cursor()
    if cursor:
        if len(cursor) != 2 or not all(isinstance(v, str) for v in cursor):
            raise ApiError(400, "bad_request", "cursor is not valid.")
        created = shapes.parse_iso(cursor[0])
        query = query.where(
            or_(
                Notification.created_at < created,
                and_(Notification.created_at == created, Notification.id < cursor[1]),
            )
        )
    limit = limit_arg()
    rows = list(
        uow().session.scalars(
            query.order_by(Notification.created_at.desc(), Notification.id.desc()).limit(limit + 1)
        )
    )
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = encode_cursor([shapes.iso(rows[-1].created_at), rows[-1].id])
    return jsonify({"items": [notification_json(r) for r in rows], "next_cursor": next_cursor})


@bp.post("/<notification_id>/read")
@access(anyone=True)
@spec("Mark a notification read", responses={200: NotificationOut})
def mark_read(notification_id: str):
    """Mark one of one's own notifications read (repeating it keeps the first time)."""
    unit = uow()
    row = notify.mark_read(
        unit.session, current_user().username, notification_id, services().clock.now()
    )
    if row is None:
        raise ApiError(404, "not_found", f"notification {notification_id} does not exist")
    unit.commit()
    return jsonify(notification_json(row))
