"""Configuration: the defaults (``Config``), and every setting the environment may change,
each checked when the service or a command starts.

Why checked up front: a value read lazily fails deep inside a request or a timer, as a
traceback that does not say which variable was wrong. :func:`load` reads them all at once and
raises :class:`ConfigError` with one line naming the variable and what it may be; the command
line prints that line and exits with status 2 (``service/cli.py``), and so does the WSGI module.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

from service import identity_providers
from service.identity_providers import Provider
from service.settings import RETENTION_DEFAULT_DAYS, SETTINGS, ConfigError, read
from storage.database import DEFAULT_DATABASE_URL


def load(env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The settings ``env`` (default: the process environment) gives, every one checked.

    Raises :class:`ConfigError` for the first that cannot be used. Unset or empty variables
    are left out, so ``Config``'s defaults hold for them.
    """
    env = os.environ if env is None else env
    values = {}
    for setting in SETTINGS:
        value = read(setting, env)
        if value is not None:
            values[setting.config_key] = value
    values["RETENTION_DAYS"] = retention_days(env)
    found = providers(env)
    if found:
        values["OIDC_PROVIDERS"] = found
    return values


def providers(env: Mapping[str, str] | None = None) -> tuple[Provider, ...]:
    """The identity providers of ``OIDC_PROVIDERS_FILE`` (a JSON or TOML file) or of
    ``OIDC_PROVIDERS`` (the same JSON), each checked (docs/identity.md); none when both are unset.

    Read apart from ``SETTINGS``: a provider's secret may live in a variable its entry names.
    """
    env = os.environ if env is None else env
    path = env.get("OIDC_PROVIDERS_FILE", "").strip()
    inline = env.get("OIDC_PROVIDERS", "").strip()
    if path and inline:
        raise ConfigError("OIDC_PROVIDERS_FILE and OIDC_PROVIDERS: set one of them, not both")
    try:
        if path:
            return identity_providers.from_file(Path(path), env)
        if inline:
            return identity_providers.from_json(inline, env)
    except ValueError as err:
        # The inline JSON may hold a client secret: never echoed, like DATABASE_URL.
        shown = f"OIDC_PROVIDERS_FILE={path[:60]!r}" if path else "OIDC_PROVIDERS=(hidden)"
        raise ConfigError(f"{shown}: {err}") from None
    return ()


def retention_days(env: Mapping[str, str] | None = None) -> dict[str, int]:
    """The retention period of each kind of record, in days (``RETENTION_<KIND>_DAYS``)."""
    env = os.environ if env is None else env
    by_env = {s.env: s for s in SETTINGS}
    days = {}
    for kind, default in RETENTION_DEFAULT_DAYS.items():
        value = read(by_env[f"RETENTION_{kind.upper()}_DAYS"], env)
        days[kind] = default if value is None else value
    return days


def settings(env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """``Config``'s defaults with ``env``'s settings over them: what a command outside the app
    reads (the CLI's deploy, audit and retention commands)."""
    defaults = {k: v for k, v in vars(Config).items() if k.isupper()}
    return {**defaults, **load(env)}


class Config:
    DATABASE_URL: str = DEFAULT_DATABASE_URL
    # Unset: a random key per process (sessions do not survive a restart).
    SECRET_KEY: str = secrets.token_hex(32)
    MAX_CONTENT_LENGTH: int = 8 * 1024 * 1024
    JSON_SORT_KEYS = False
    TESTING = False
    BPMN_DIR: str = "bpmn"

    # Browser sessions: HttpOnly, SameSite=Lax; Secure whenever the request came over HTTPS
    # (see service.app.SessionInterface) or always with SESSION_COOKIE_SECURE=true.
    SESSION_COOKIE_NAME = "safeguard_session"
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = False
    PERMANENT_SESSION_LIFETIME = timedelta(hours=8)
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
    # On for the shipped service; DIAGRAM_CONVENTIONS=false (or --no-conventions) turns it off.
    DIAGRAM_CONVENTIONS: bool = True
    # The shortest timer duration or ISO due time a deployed diagram may say (docs/security.md,
    # "What a diagram may say"). Lowered only by the fault tests, whose timers fire in seconds.
    DIAGRAM_SHORTEST_TIMER_SECONDS: float = 60.0

    TOKEN_TTL_HOURS: int = 8
    # API tokens end like sessions (docs/security.md, "Sessions"); 0 = no idle limit (scripts).
    TOKEN_IDLE_MINUTES: int = 0
    # Server-side sessions (service/sessions.py): ended after this long without a request,
    # and PERMANENT_SESSION_LIFETIME (SESSION_HOURS) after sign-in whatever happens.
    SESSION_IDLE_MINUTES: int = 60
    # The sign-in throttle (service/throttle.py, docs/security.md "Signing in"): per address
    # and name, LOGIN_FREE_FAILURES free, then waits doubling from LOGIN_FIRST_WAIT_SECONDS,
    # and LOGIN_LOCK_AFTER failures lock that pair for LOGIN_LOCK_MINUTES; per address alone,
    # LOGIN_ADDRESS_FREE_FAILURES free, then the same doubling waits (never longer than the lock).
    LOGIN_FREE_FAILURES: int = 3
    LOGIN_FIRST_WAIT_SECONDS: int = 2
    LOGIN_LOCK_AFTER: int = 10
    LOGIN_LOCK_MINUTES: int = 15
    LOGIN_ADDRESS_FREE_FAILURES: int = 30
    # A password reset link an administrator issues works once, for this many hours
    # (service/password_reset.py, docs/security.md "Administration").
    PASSWORD_RESET_HOURS: int = 24
    LOG_LEVEL: str = "INFO"
    METRICS_TOKEN: str | None = None
    RETENTION_DAYS: dict[str, int] = RETENTION_DEFAULT_DAYS

    # Reminders (tasks/reminders.py, tasks/notify.py): no SMTP_URL → in-app notifications only.
    # smtp://host:port[?starttls=true&from=addr], smtps://user:pass@host:port.
    SMTP_URL: str | None = None
    MAIL_FROM: str | None = None
    # Links in emails point here (the service's own pages).
    BASE_URL: str = "http://127.0.0.1:5000"
    # Host names the service answers to (Flask's TRUSTED_HOSTS: any other Host header is 400),
    # comma separated, e.g. "safeguard.example.org"; unset, any host (redirects are relative).
    TRUSTED_HOSTS: list[str] | None = None
    # Reminders at these fractions of the time allowed for a task; 1 = when due.
    REMINDER_FRACTIONS: str = "0.5,1"
    # Timers (tasks/scheduler.py): a claimed timer whose worker died is fired by another once
    # its lease has run out; the sweep looks for timers written by other processes.
    TIMER_LEASE_SECONDS: float = 300.0
    TIMER_SWEEP_SECONDS: float = 60.0

    # The audit trail (docs/security.md, "The audit trail"). Read events wait in the process at
    # most AUDIT_FLUSH_SECONDS (or until AUDIT_FLUSH_ROWS wait); the sealer chains new events
    # every AUDIT_SEAL_SECONDS, AUDIT_SEAL_BATCH per transaction; `verify` fails when an event
    # is still unsealed after AUDIT_SEAL_BOUND_SECONDS. AUDIT_HEADS_FILE: an append-only file
    # outside the database where each sealed batch's head is published (unset: not published).
    AUDIT_FLUSH_SECONDS: float = 1.0
    AUDIT_FLUSH_ROWS: int = 200
    AUDIT_SEAL_SECONDS: float = 5.0
    AUDIT_SEAL_BATCH: int = 1000
    AUDIT_SEAL_BOUND_SECONDS: float = 300.0
    AUDIT_HEADS_FILE: str | None = None

    # TEST ONLY: seconds added to the service's clock (due times, reminders, escalations, what
    # is overdue), so that a browser test can make work overdue on a real `safeguard serve`.
    # Never set it in production.
    CLOCK_OFFSET_SECONDS: float = 0.0

    # Single sign-on (docs/identity.md): OIDC_PROVIDERS_FILE's or OIDC_PROVIDERS' providers;
    # none: passwords only. Each one's callback is BASE_URL/login/sso/<name>/callback.
    OIDC_PROVIDERS: tuple[Provider, ...] = ()

    # BENCHMARKS ONLY: append each request's CPU milliseconds, by route, to this file
    # (service/cpu.py; benchmarks/api.py reads it).
    CPU_LOG: str | None = None
