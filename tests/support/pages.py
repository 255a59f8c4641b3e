"""Signing in through the login form and checking a page, as a browser would."""

from __future__ import annotations

import re

from sqlalchemy import select

from service import trail
from service.context import services
from storage import UnitOfWork
from storage.models import AuditEvent

PASSWORD = "correct-horse-battery"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(page) -> str:
    """The CSRF token a rendered form carries."""
    return CSRF.search(page.get_data(as_text=True)).group(1)


def sign_in(app, username: str = "pat", password: str = PASSWORD):
    """A test client signed in through the login form (a session cookie, like a browser)."""
    browser = app.test_client()
    form = browser.get("/login")
    answer = browser.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": csrf_of(form)},
    )
    assert answer.status_code == 302, answer.get_data(as_text=True)
    return browser


def assert_clean(response) -> None:
    """Served under the CSP, with no inline script and no inline style."""
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    html = response.get_data(as_text=True)
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)
    assert "style=" not in html and "<style" not in html


def audited(app, action: str) -> list[AuditEvent]:
    """The audit events of ``action`` (an endpoint), the queued reads inserted first."""
    trail.flush(app)
    with app.app_context(), UnitOfWork(services().session_factory) as uow:
        query = select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
        return list(uow.session.scalars(query))


def school_team(**more: dict) -> dict[str, dict]:
    """``page_app``'s people: ``mo`` (manager, school) manages ``pat`` and ``sam``
    (practitioners, school); ``more`` adds people by name."""
    school = {"agency": "school", "manager": "mo"}
    return {
        "mo": {"roles": ["manager"], "agency": "school"},
        "pat": {"roles": ["practitioner"], **school},
        "sam": {"roles": ["practitioner"], **school},
        **more,
    }
