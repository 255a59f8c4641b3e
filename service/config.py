"""Configuration objects, in the Flask style: a base, then what differs per environment."""

from __future__ import annotations

import os
import secrets
from datetime import timedelta

from storage.database import database_url


def _flag(name: str, default: bool = False) -> bool:
    return os.environ.get(name, str(default)).lower() in ("1", "true", "yes", "on")


class Config:
    DATABASE_URL: str = database_url()
    SECRET_KEY: str = os.environ.get("SECRET_KEY") or secrets.token_hex(32)
    MAX_CONTENT_LENGTH: int = 8 * 1024 * 1024
    JSON_SORT_KEYS = False
    TESTING = False
    BPMN_DIR: str = os.environ.get("BPMN_DIR", "bpmn")

    # Browser sessions: HttpOnly, SameSite=Lax; Secure whenever the request came over HTTPS
    # (see service.app.SessionInterface) or always with SESSION_COOKIE_SECURE=true.
    SESSION_COOKIE_NAME = "safeguard_session"
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = _flag("SESSION_COOKIE_SECURE")
    PERMANENT_SESSION_LIFETIME = timedelta(hours=int(os.environ.get("SESSION_HOURS", "8")))
    # CSRF: checked by service.access for every unsafe request that relies on the cookie.
    WTF_CSRF_CHECK_DEFAULT = False
    WTF_CSRF_TIME_LIMIT = None  # valid for the session's life

    # Messages a diagram throws to start another process for the same child (processes.md).
    MESSAGE_STARTS = {
        "start_referral": "referral",
        "start_escalation": "escalation",
        "start_early_help": "early_help_caf",
    }

    TOKEN_TTL_HOURS: int = int(os.environ.get("TOKEN_TTL_HOURS", "8"))
    LOGIN_FREE_FAILURES: int = 3
    LOGIN_FIRST_WAIT_SECONDS: int = 2
    LOGIN_LOCK_AFTER: int = 10
    LOGIN_LOCK_MINUTES: int = 15

    # Reminders (tasks/reminders.py, tasks/notify.py): no SMTP_URL → in-app notifications only.
    # smtp://host:port[?starttls=true&from=addr], smtps://user:pass@host:port.
    SMTP_URL: str | None = os.environ.get("SMTP_URL") or None
    MAIL_FROM: str | None = os.environ.get("MAIL_FROM") or None
    # Links in emails point here (the service's own pages).
    BASE_URL: str = os.environ.get("BASE_URL", "http://127.0.0.1:5000")
    # Reminders at these fractions of the time allowed for a task; 1 = when due.
    REMINDER_FRACTIONS: str = os.environ.get("REMINDER_FRACTIONS", "0.5,1")
    # Timers (tasks/scheduler.py): a claimed timer whose worker died is fired by another once
    # its lease has run out; the sweep looks for timers written by other processes.
    TIMER_LEASE_SECONDS: float = float(os.environ.get("TIMER_LEASE_SECONDS", "300"))
    TIMER_SWEEP_SECONDS: float = float(os.environ.get("TIMER_SWEEP_SECONDS", "60"))


class TestConfig(Config):
    TESTING = True
