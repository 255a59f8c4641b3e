"""A real ``safeguard serve`` with the shipped diagrams, for the diagram and modeller tests.

Plain helpers (not a conftest) so that test files share them without sharing fixtures by
magic. The front-end bundles are built by ``make`` (``make assets``); a test that needs them
builds them when they are missing, and with ``CI=true`` a missing build is a failure: ``make
test`` should have built it.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.browser.test_browser import FLAGS, PASSWORD, _chromium
from tests.support.live import ROOT, Service
from tests.support.live import run_cli as _run

BUILT = ROOT / "service" / "static" / "vendor" / ".built"
DIAGRAMS = sorted(str(p) for p in (ROOT / "bpmn").glob("*.bpmn"))


def require_assets() -> None:
    """The bpmn-js bundles under service/static/vendor, built if missing (not on CI)."""
    if BUILT.exists():
        return
    if os.environ.get("CI") == "true":
        pytest.fail("front-end assets are not built (service/static/vendor): run `make assets`")
    built = subprocess.run(
        ["make", "assets"], cwd=ROOT, capture_output=True, text=True, timeout=600
    )
    if built.returncode != 0 or not BUILT.exists():
        pytest.fail(f"`make assets` failed, the pages have no bpmn-js:\n{built.stderr[-3000:]}")


@contextmanager
def served(
    tmp_path: Path,
    users: dict[str, tuple[list[str], str | None]],
    settings: Callable[[int], dict[str, str]] | None = None,
) -> Iterator[Service]:
    """The service on a SQLite file with every shipped diagram deployed and ``users`` added;
    ``settings(port)`` adds to its environment what depends on its port (``BASE_URL``)."""
    executable = _chromium()
    require_assets()
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'safeguard.db'}",
        "PYTHONUNBUFFERED": "1",
    }
    _run(env, "db", "upgrade")
    _run(env, "deploy", *DIAGRAMS)
    for name, (roles, agency) in users.items():
        args = [a for role in roles for a in ("--role", role)]
        if agency:
            args += ["--agency", agency]
        _run(env, "users", "add", name, *args, "--password-stdin", stdin=PASSWORD)
    running = Service(env, tmp_path / "service.log")
    if settings is not None:
        running.env.update(settings(running.port))
    running.start()
    running.chromium = executable
    try:
        yield running
    finally:
        running.kill()


def api(service: Service, username: str, method: str, path: str, body=None):
    """One API call as ``username`` (a bearer token, not the browser's cookie)."""
    status, signed_in = service.request(
        "POST", "/api/auth/token", {"username": username, "password": PASSWORD}
    )
    assert status == 200, signed_in
    service.token = signed_in["token"]
    try:
        return service.request(method, path, body)
    finally:
        service.token = None


def sign_in(page, base: str, username: str) -> None:
    page.goto(base + "/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.keyboard.press("Enter")
    # Each lands on their home: My work, or the reports or the modeller for those who do no
    # casework.
    page.wait_for_url(lambda url: url.startswith(base + "/") and "/login" not in url)


@contextmanager
def browser_page(service: Service, tmp_path: Path, width: int = 1400, height: int = 900):
    """A Chromium page; on leaving, no script error, CSP refusal or failed request may have
    happened, and a failure leaves ``failure.png`` beside the service's log."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=service.chromium, args=FLAGS)
        page = browser.new_page(viewport={"width": width, "height": height})
        page.set_default_timeout(20_000)
        problems = watch_console(page)
        try:
            yield page
            assert problems == [], "\n".join(problems)
        except Exception:
            page.screenshot(path=str(tmp_path / "failure.png"))
            raise
        finally:
            browser.close()


def watch_console(page) -> list[str]:
    """What went wrong in the page: script errors, CSP refusals, failed requests (not the
    favicon, which the service does not have)."""
    problems: list[str] = []
    page.on("pageerror", lambda err: problems.append(f"page error: {err}"))

    def console(msg) -> None:
        if msg.type == "error" and not msg.text.startswith("Failed to load resource"):
            problems.append(f"console error: {msg.text}")

    def response(answer) -> None:
        if answer.status >= 400 and not answer.url.endswith("/favicon.ico"):
            problems.append(f"HTTP {answer.status} {answer.request.method} {answer.url}")

    page.on("console", console)
    page.on("response", response)
    return problems
