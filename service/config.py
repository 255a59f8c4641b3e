"""Configuration objects, in the Flask style: a base, then what differs per environment."""

from __future__ import annotations

import os
import secrets
from datetime import timedelta

from storage.database import database_url


def _flag(name: str, default: bool = False) -> bool:
    return os.environ.get(name, str(default)).lower() in ("1", "true", "yes", "on")


# Retention (records/retention.py): days after a case closes (its last instance ended)
# before each kind of its records is purged. RETENTION_<KIND>_DAYS overrides each default.
RETENTION_DEFAULT_DAYS = {
    "case": 2190,  # instances' engine state and answers, timers' payloads, inbox resolutions
    "notification": 365,  # in-app notifications about the case's tasks
    "consent": 2190,  # consent register rows of the child
    "register": 2190,  # the sharing register's identifying fields (the decision stays)
    "audit": 2190,  # the case key and details of audit events (who did what, when, stays)
}


def retention_days() -> dict[str, int]:
    """The retention period of each kind of record, in days, from the environment."""
    days = {}
    for kind, default in RETENTION_DEFAULT_DAYS.items():
        raw = os.environ.get(f"RETENTION_{kind.upper()}_DAYS", str(default))
        if not raw.isdigit():
            raise ValueError(f"RETENTION_{kind.upper()}_DAYS must be a whole number of days")
        days[kind] = int(raw)
    return days


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
    # Messages a diagram throws to answer the instance it was started from (started_from), when
    # that instance waits for them at a catch event; otherwise dropped (docs/design.md).
    MESSAGE_REPLIES = ("escalation_outcome",)
    # Processes started with ``consent_on_record`` (given/withdrawn/none, from the consent register)
    # in their variables, so their diagram can route a decision on a withdrawn consent.
    CONSENT_ON_RECORD = ("information_sharing",)
    # Processes always about one child: a start without the child's business key is 422.
    BUSINESS_KEY_REQUIRED = ("information_sharing", "early_help_caf", "referral", "escalation")
    # Every user task of a deployed diagram names its role (lane or candidate groups), its form
    # and its due time: worklists, form checks and reminders depend on all three.
    DIAGRAM_CONVENTIONS: bool = _flag("DIAGRAM_CONVENTIONS", True)
    # The shortest timer duration or ISO due time a deployed diagram may say (docs/security.md,
    # "What a diagram may say"). Lowered only by the fault tests, whose timers fire in seconds.
    DIAGRAM_SHORTEST_TIMER_SECONDS: float = float(
        os.environ.get("DIAGRAM_SHORTEST_TIMER_SECONDS", "60")
    )

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
    # Host names the service answers to (Flask's TRUSTED_HOSTS: any other Host header is 400),
    # comma separated, e.g. "safeguard.example.org"; unset, any host (redirects are relative).
    TRUSTED_HOSTS: list[str] | None = [
        h.strip() for h in os.environ.get("TRUSTED_HOSTS", "").split(",") if h.strip()
    ] or None
    # Reminders at these fractions of the time allowed for a task; 1 = when due.
    REMINDER_FRACTIONS: str = os.environ.get("REMINDER_FRACTIONS", "0.5,1")
    # Timers (tasks/scheduler.py): a claimed timer whose worker died is fired by another once
    # its lease has run out; the sweep looks for timers written by other processes.
    TIMER_LEASE_SECONDS: float = float(os.environ.get("TIMER_LEASE_SECONDS", "300"))
    TIMER_SWEEP_SECONDS: float = float(os.environ.get("TIMER_SWEEP_SECONDS", "60"))

    # The audit trail (docs/security.md, "The audit trail"). Read events wait in the process at
    # most AUDIT_FLUSH_SECONDS (or until AUDIT_FLUSH_ROWS wait); the sealer chains new events
    # every AUDIT_SEAL_SECONDS, AUDIT_SEAL_BATCH per transaction; `verify` fails when an event
    # is still unsealed after AUDIT_SEAL_BOUND_SECONDS. AUDIT_HEADS_FILE: an append-only file
    # outside the database where each sealed batch's head is published (unset: not published).
    AUDIT_FLUSH_SECONDS: float = float(os.environ.get("AUDIT_FLUSH_SECONDS", "1"))
    AUDIT_FLUSH_ROWS: int = int(os.environ.get("AUDIT_FLUSH_ROWS", "200"))
    AUDIT_SEAL_SECONDS: float = float(os.environ.get("AUDIT_SEAL_SECONDS", "5"))
    AUDIT_SEAL_BATCH: int = int(os.environ.get("AUDIT_SEAL_BATCH", "1000"))
    AUDIT_SEAL_BOUND_SECONDS: float = float(os.environ.get("AUDIT_SEAL_BOUND_SECONDS", "300"))
    AUDIT_HEADS_FILE: str | None = os.environ.get("AUDIT_HEADS_FILE") or None

    # TEST ONLY: seconds added to the service's clock (due times, reminders, escalations, what
    # is overdue), so that a browser test can make work overdue on a real `safeguard serve`.
    # Never set it in production.
    CLOCK_OFFSET_SECONDS: float = float(os.environ.get("SAFEGUARD_CLOCK_OFFSET") or 0)

    # BENCHMARKS ONLY: append each request's CPU milliseconds, by route, to this file
    # (service/cpu.py; benchmarks/api.py reads it).
    CPU_LOG: str | None = os.environ.get("SAFEGUARD_CPU_LOG") or None


class TestConfig(Config):
    TESTING = True
