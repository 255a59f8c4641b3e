"""A person at a real browser: Debian's Chromium, driven by Playwright, against ``safeguard serve``.

The service runs as it does in production (the installed command, waitress, a SQLite file), and
the browser only types and clicks. Without ``/usr/bin/chromium`` the test is skipped loudly,
except with ``CI=true`` where that is a failure (``.ci/run`` installs it).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.service.test_restart import FIXTURE
from tests.support.live import Service
from tests.support.live import run_cli as _run

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PASSWORD = "correct-horse-battery"


def _chromium() -> str:
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is not installed (apt-get install chromium)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{message} (CI=true: browser tests must run)")
        pytest.skip(f"!!! SKIPPING BROWSER TESTS: {message}")
    return str(CHROMIUM)


@pytest.fixture
def service(tmp_path):
    executable = _chromium()
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'safeguard.db'}",
        "PYTHONUNBUFFERED": "1",
    }
    _run(env, "db", "upgrade")
    assert "three_steps version 1 (deployed)" in _run(env, "deploy", FIXTURE)
    _run(env, "users", "add", "pat", "--role", "practitioner", "--password-stdin", stdin=PASSWORD)
    running = Service(env, tmp_path / "service.log")
    running.start()
    running.chromium = executable
    try:
        yield running
    finally:
        running.kill()


@pytest.mark.slow
def test_a_practitioner_does_a_task_in_chromium(service, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    status, signed_in = service.request(
        "POST", "/api/auth/token", {"username": "pat", "password": PASSWORD}
    )
    assert status == 200, signed_in
    service.token = signed_in["token"]
    status, started = service.request(
        "POST", "/api/process-instances", {"process_key": "three_steps", "business_key": "c-1"}
    )
    assert status == 201, started
    base = f"http://127.0.0.1:{service.port}"

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=service.chromium, args=FLAGS)
        try:
            page = browser.new_page()
            page.set_default_timeout(15_000)
            page.goto(base + "/")
            assert page.url.startswith(base + "/login")  # not signed in: the login form
            page.fill("#username", "pat")
            page.fill("#password", PASSWORD)
            page.keyboard.press("Enter")
            page.wait_for_url(base + "/")
            expect(page.locator("h1")).to_have_text("My work")

            link = page.get_by_role("link", name="Describe the concern")
            expect(link).to_be_visible()
            link.click()
            expect(page.locator("h1")).to_have_text("Describe the concern")

            page.fill("#severity", "8")  # but no concern
            page.click("button:text('Submit')")
            error = page.locator("#error-concern")
            expect(error).to_have_text("This field is required")
            expect(page.locator("#concern")).to_have_attribute("aria-describedby", "error-concern")
            expect(page.locator("#severity")).to_have_value("8")

            page.fill("#concern", "Unexplained bruises")
            page.click("button:text('Submit')")
            page.wait_for_url(base + "/")
            expect(page.locator(".flash")).to_have_text("Done")
            expect(page.get_by_role("link", name="Describe the concern")).to_have_count(0)
        except Exception:
            page.screenshot(path=str(tmp_path / "failure.png"))
            raise
        finally:
            browser.close()
