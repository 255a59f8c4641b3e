"""Every setting the environment may change: its variable, how its text is read, and what it may
be (``SETTINGS``); :func:`read` turns a bad value into one :class:`ConfigError` line.

Apart from ``service/config.py`` (which loads them all and holds the defaults) so that the table
of settings, the longest part, can be read on its own.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError


class ConfigError(ValueError):
    """A setting the service cannot use; its message is one line naming the variable."""


# Retention (records/retention.py): days after a case closes (its last instance ended)
# before each kind of its records is purged. RETENTION_<KIND>_DAYS overrides each default.
RETENTION_DEFAULT_DAYS = {
    "case": 2190,  # instances' engine state and answers, timers' payloads, inbox resolutions
    "notification": 365,  # in-app notifications about the case's tasks
    "consent": 2190,  # consent register rows of the child
    "register": 2190,  # the sharing register's identifying fields (the decision stays)
    "audit": 2190,  # the case key and details of audit events (who did what, when, stays)
}


# -- parsers: each takes the raw text and raises ValueError when it cannot be used ---------------
def _whole(minimum: int) -> Callable[[str], int]:
    def parse(raw: str) -> int:
        if not raw.lstrip("-").isdigit() or int(raw) < minimum:
            raise ValueError(raw)
        return int(raw)

    return parse


def _number(minimum: float | None = None, above: float | None = None) -> Callable[[str], float]:
    def parse(raw: str) -> float:
        value = float(raw)  # ValueError for text; "nan" and "inf" are refused below
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError(raw)
        if (minimum is not None and value < minimum) or (above is not None and value <= above):
            raise ValueError(raw)
        return value

    return parse


def _flag(raw: str) -> bool:
    lowered = raw.lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValueError(raw)


def _database_url(raw: str) -> str:
    try:
        url = make_url(raw)
    except ArgumentError:
        raise ValueError(raw) from None
    if url.get_backend_name() not in ("sqlite", "postgresql"):
        raise ValueError(raw)
    return raw


def _web_url(schemes: tuple[str, ...]) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        parts = urlsplit(raw)
        if parts.scheme not in schemes or not parts.hostname:
            raise ValueError(raw)
        return raw

    return parse


def _secret(raw: str) -> str:
    if len(raw) < 32:
        raise ValueError(raw)
    return raw


def _text(raw: str) -> str:
    return raw


def _hosts(raw: str) -> list[str] | None:
    return [h.strip() for h in raw.split(",") if h.strip()] or None


def _fractions(raw: str) -> str:
    parts = [p.strip() for p in raw.split(",") if p.strip()]
    if not parts or any(_number(above=0)(p) > 10 for p in parts):
        raise ValueError(raw)
    return raw


def _log_level(raw: str) -> str:
    if raw.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        raise ValueError(raw)
    return raw.upper()


def _port(raw: str) -> int:
    port = _whole(1)(raw)
    if port > 65535:
        raise ValueError(raw)
    return port


def _hours(raw: str) -> timedelta:
    return timedelta(hours=_whole(1)(raw))


@dataclass(frozen=True)
class Setting:
    """An environment variable, the config key it sets, how it is read and what it may be."""

    env: str
    parse: Callable[[str], Any]
    allowed: str
    key: str = ""
    secret: bool = False  # never echoed back in the message

    @property
    def config_key(self) -> str:
        return self.key or self.env


WHOLE_1 = "must be a whole number, 1 or more"
SECONDS = "must be a number of seconds greater than 0"
SETTINGS: tuple[Setting, ...] = (
    Setting(
        "DATABASE_URL",
        _database_url,
        "must be a database URL: sqlite:///path/to/file.db or "
        "postgresql+psycopg://user@host:5432/name",
        secret=True,
    ),
    Setting("SECRET_KEY", _secret, "must be at least 32 characters", secret=True),
    Setting("BPMN_DIR", _text, "a directory"),
    Setting("SESSION_COOKIE_SECURE", _flag, "must be true or false (1/0, yes/no, on/off)"),
    Setting("DIAGRAM_CONVENTIONS", _flag, "must be true or false (1/0, yes/no, on/off)"),
    Setting(
        "SESSION_HOURS",
        _hours,
        "must be a whole number of hours, 1 or more",
        key="PERMANENT_SESSION_LIFETIME",
    ),
    Setting("SESSION_IDLE_MINUTES", _whole(1), "must be a whole number of minutes, 1 or more"),
    Setting("TOKEN_TTL_HOURS", _whole(1), "must be a whole number of hours, 1 or more"),
    Setting(
        "TOKEN_IDLE_MINUTES", _whole(0), "must be a whole number of minutes, 0 (no limit) or more"
    ),
    Setting("PASSWORD_RESET_HOURS", _whole(1), "must be a whole number of hours, 1 or more"),
    Setting("LOGIN_FREE_FAILURES", _whole(0), "must be a whole number, 0 or more"),
    Setting("LOGIN_FIRST_WAIT_SECONDS", _whole(1), "must be a whole number of seconds, 1 or more"),
    Setting("LOGIN_LOCK_AFTER", _whole(1), WHOLE_1),
    Setting("LOGIN_LOCK_MINUTES", _whole(1), "must be a whole number of minutes, 1 or more"),
    Setting("LOGIN_ADDRESS_FREE_FAILURES", _whole(1), WHOLE_1),
    Setting(
        "DIAGRAM_SHORTEST_TIMER_SECONDS",
        _number(minimum=0),
        "must be a number of seconds, 0 or more",
    ),
    Setting("SMTP_URL", _web_url(("smtp", "smtps")), "must be smtp://host:port or smtps://..."),
    Setting("MAIL_FROM", _text, "an email address"),
    Setting("BASE_URL", _web_url(("http", "https")), "must be an http:// or https:// URL"),
    Setting("TRUSTED_HOSTS", _hosts, "host names, comma separated"),
    Setting(
        "REMINDER_FRACTIONS",
        _fractions,
        "must be numbers greater than 0 (1 = when due), comma separated, e.g. 0.5,1",
    ),
    Setting("TIMER_LEASE_SECONDS", _number(above=0), SECONDS),
    Setting("TIMER_SWEEP_SECONDS", _number(above=0), SECONDS),
    Setting("AUDIT_FLUSH_SECONDS", _number(above=0), SECONDS),
    Setting("AUDIT_FLUSH_ROWS", _whole(1), WHOLE_1),
    Setting("AUDIT_SEAL_SECONDS", _number(above=0), SECONDS),
    Setting("AUDIT_SEAL_BATCH", _whole(1), WHOLE_1),
    Setting(
        "AUDIT_SEAL_BOUND_SECONDS", _number(minimum=0), "must be a number of seconds, 0 or more"
    ),
    Setting("AUDIT_HEADS_FILE", _text, "a file path"),
    Setting(
        "SAFEGUARD_CLOCK_OFFSET",
        _number(),
        "must be a number of seconds",
        key="CLOCK_OFFSET_SECONDS",
    ),
    Setting("SAFEGUARD_CPU_LOG", _text, "a file path", key="CPU_LOG"),
    Setting("METRICS_TOKEN", _text, "a token", secret=True),
    Setting("LOG_LEVEL", _log_level, "must be DEBUG, INFO, WARNING, ERROR or CRITICAL"),
    # gunicorn's (service/gunicorn_conf.py; `safeguard serve` takes options instead).
    Setting("HOST", _text, "a host name or address to listen on"),
    Setting("PORT", _port, "must be a port number, 1 to 65535"),
    Setting("WEB_WORKERS", _whole(1), WHOLE_1),
    Setting("WEB_THREADS", _whole(1), WHOLE_1),
    Setting("WEB_TIMEOUT", _whole(1), "must be a whole number of seconds, 1 or more"),
    *(
        Setting(
            f"RETENTION_{kind.upper()}_DAYS",
            _whole(0),
            "must be a whole number of days, 0 or more",
        )
        for kind in RETENTION_DEFAULT_DAYS
    ),
)


def read(setting: Setting, env: Mapping[str, str]) -> Any:
    """The parsed value, or ``None`` when the variable is unset or empty (the default holds)."""
    raw = env.get(setting.env, "").strip()
    if not raw:
        return None
    try:
        return setting.parse(raw)
    except ValueError:
        shown = "(hidden)" if setting.secret else repr(raw[:60])
        raise ConfigError(f"{setting.env}={shown}: {setting.allowed}") from None
