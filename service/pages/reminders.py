"""The reminders page (in-app notifications) and the unread badge in every page's header."""

from __future__ import annotations

import logging

from flask import Blueprint, flash, redirect, render_template, url_for
from sqlalchemy.exc import SQLAlchemyError

from service import trail
from service.access import access, viewer
from service.auth import current_user
from service.context import services, uow
from service.errors import ApiError
from service.openapi import HTML, spec
from service.pages.inbox import INBOX_ROLES
from service.pages.work import CSRF_ONLY
from tasks import notify
from workflows.roles import CASEWORK

log = logging.getLogger(__name__)
bp = Blueprint("reminders", __name__)


def _unread() -> int | None:
    """The badge's count; ``None`` (no badge) when there is nobody or the database is down,
    so that an error page can still be drawn."""
    user = current_user()
    if user is None:
        return None
    try:
        return notify.unread_count(uow().session, user.username)
    except SQLAlchemyError:
        log.warning("could not count unread notifications")
        return None


@bp.app_context_processor
def header_links() -> dict:
    """What the header links to: the unread count (counted only when drawn) and the inbox."""
    user = current_user()
    has_inbox = user is not None and (bool(user.roles & set(INBOX_ROLES)) or user.is_admin)
    has_casework = user is not None and bool(user.roles & set(CASEWORK))
    return {"unread_reminders": _unread, "has_inbox": has_inbox, "has_casework": has_casework}


@bp.get("/notifications")
@access(anyone=True)
@spec("My reminders, newest first (a page)", responses={200: HTML, 302: None}, tag="pages")
def notifications():
    user = current_user()
    session = uow().session
    rows = notify.recent(session, user.username)
    cases = notify.cases_of(session, viewer(user), rows)
    shown = sorted({c.business_key for c in cases.values() if c.business_key})
    if shown:
        trail.note(detail={"cases_shown": shown})  # a read of case data, like any other
    return render_template("notifications.html", notifications=rows, cases=cases)


@bp.post("/notifications/<notification_id>/read")
@access(anyone=True)
@spec(
    "Mark one reminder read (a page); redirects to the list",
    body=CSRF_ONLY,
    responses={302: None},
    tag="pages",
)
def read(notification_id: str):
    unit = uow()
    user = current_user()
    row = notify.mark_read(unit.session, user.username, notification_id, services().clock.now())
    if row is None:
        raise ApiError(404, "not_found", f"notification {notification_id} does not exist")
    unit.commit()
    return redirect(url_for("reminders.notifications"))


@bp.post("/notifications/read")
@access(anyone=True)
@spec(
    "Mark all my reminders read (a page); redirects to the list",
    body=CSRF_ONLY,
    responses={302: None},
    tag="pages",
)
def read_all():
    unit = uow()
    count = notify.mark_all_read(unit.session, current_user().username, services().clock.now())
    unit.commit()
    flash(f"Marked {count} reminder{'s' if count != 1 else ''} read")
    return redirect(url_for("reminders.notifications"))
