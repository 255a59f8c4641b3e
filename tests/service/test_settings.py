"""Configuration errors are messages, not tracebacks (issue 19, point 5).

A bad value in any setting stops the command before it does anything, with one line that names
the variable and says what it may be, and exit status 2; the app factory raises the same
message, and so does the WSGI module gunicorn loads.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from service.app import create_app
from service.cli import main
from service.config import SETTINGS, ConfigError, load

ROOT = Path(__file__).resolve().parents[2]

BAD = [
    ("RETENTION_CASE_DAYS", "-5", "RETENTION_CASE_DAYS='-5': must be a whole number of days"),
    ("RETENTION_AUDIT_DAYS", "six", "RETENTION_AUDIT_DAYS='six': must be a whole number of days"),
    ("DATABASE_URL", "mysql://root:pw@db/x", "DATABASE_URL=(hidden): must be a database URL"),
    ("DATABASE_URL", "not a url", "DATABASE_URL=(hidden): must be a database URL"),
    ("SESSION_IDLE_MINUTES", "0", "SESSION_IDLE_MINUTES='0': must be a whole number of minutes"),
    ("SESSION_HOURS", "1.5", "SESSION_HOURS='1.5': must be a whole number of hours"),
    ("SESSION_COOKIE_SECURE", "maybe", "SESSION_COOKIE_SECURE='maybe': must be true or false"),
    ("TIMER_LEASE_SECONDS", "nan", "TIMER_LEASE_SECONDS='nan': must be a number of seconds"),
    ("AUDIT_FLUSH_ROWS", "many", "AUDIT_FLUSH_ROWS='many': must be a whole number"),
    ("REMINDER_FRACTIONS", "half,1", "REMINDER_FRACTIONS='half,1': must be numbers"),
    ("SMTP_URL", "http://mail", "SMTP_URL='http://mail': must be smtp://"),
    ("SECRET_KEY", "short", "SECRET_KEY=(hidden): must be at least 32 characters"),
    ("LOG_LEVEL", "LOUD", "LOG_LEVEL='LOUD': must be DEBUG, INFO"),
]


@pytest.mark.parametrize(("name", "value", "message"), BAD)
def test_the_command_line_says_which_setting_is_wrong(tmp_path, name, value, message):
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}", name: value}
    result = CliRunner().invoke(main, ["retention", "--dry-run"], env=env)
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"safeguard: {message}"), result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "x.db").exists()  # nothing was done
    if "(hidden)" in message:
        assert value not in result.output


@pytest.mark.parametrize(("name", "value", "message"), BAD[:4])
def test_the_app_factory_refuses_a_bad_setting(monkeypatch, name, value, message):
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as raised:
        create_app({"TESTING": True})
    assert str(raised.value).startswith(message)


def _run(args: list[str], **env: str) -> subprocess.CompletedProcess:
    environment = {**os.environ, "PYTHONPATH": str(ROOT), **env}
    return subprocess.run(
        [sys.executable, *args], env=environment, capture_output=True, text=True, timeout=120
    )


def test_a_real_process_prints_one_line_and_exits_2():
    served = _run(["-m", "service.cli", "serve"], RETENTION_CASE_DAYS="-5")
    assert served.returncode == 2
    assert served.stderr.strip() == (
        "safeguard: RETENTION_CASE_DAYS='-5': must be a whole number of days, 0 or more"
    )
    wsgi = _run(["-c", "import service.wsgi"], DATABASE_URL="postgres://")
    assert wsgi.returncode == 2 and "Traceback" not in wsgi.stderr
    assert wsgi.stderr.strip().splitlines() == [
        "safeguard: DATABASE_URL=(hidden): must be a database URL: sqlite:///path/to/file.db "
        "or postgresql+psycopg://user@host:5432/name"
    ]


def test_good_values_are_read_and_every_setting_says_what_it_allows():
    values = load(
        {"RETENTION_CASE_DAYS": "0", "SESSION_COOKIE_SECURE": "yes", "LOG_LEVEL": "debug"}
    )
    assert values["RETENTION_DAYS"]["case"] == 0 and values["SESSION_COOKIE_SECURE"] is True
    assert values["LOG_LEVEL"] == "DEBUG"
    assert load({"SMTP_URL": ""}).get("SMTP_URL") is None  # empty: the default holds
    assert all(setting.allowed for setting in SETTINGS)


def test_gunicorn_settings_are_checked_too():
    started = _run(["-c", "import service.gunicorn_conf"], WEB_WORKERS="lots")
    assert started.returncode == 2
    assert (
        started.stderr.strip() == "safeguard: WEB_WORKERS='lots': must be a whole number, 1 or more"
    )
