"""A real ``safeguard serve`` with the shipped diagrams and a small school team, for the
practitioner and manager browser tests (plain helpers, not a conftest).

The team: ``mo`` (manager, school) manages ``pat`` and ``sam`` (practitioners, school). The
service can be restarted with ``SAFEGUARD_CLOCK_OFFSET`` (test only: seconds added to its
clock), which is how a test lets working days pass for a running service: on start the
scheduler fires every reminder and escalation that fell due meanwhile.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.browser import served
from tests.browser.test_browser import FLAGS, PASSWORD, _chromium
from tests.support.live import ROOT, Service
from tests.support.live import run_cli as _run

DIAGRAMS = sorted(str(p) for p in (ROOT / "bpmn").glob("*.bpmn"))
# name: (roles, agency, manager) - managers first.
TEAM = {
    "mo": (["manager"], "school", None),
    "pat": (["practitioner"], "school", "mo"),
    "sam": (["practitioner"], "school", "mo"),
}
WIDE, NARROW = {"width": 1280, "height": 900}, {"width": 360, "height": 740}


class Casework:
    """The service as a child process on a SQLite file, with API calls as any team member."""

    def __init__(self, tmp_path: Path):
        self.chromium = _chromium()
        self.env = {
            **os.environ,
            "DATABASE_URL": f"sqlite:///{tmp_path / 'safeguard.db'}",
            "PYTHONUNBUFFERED": "1",
        }
        self.log = tmp_path / "service.log"
        _run(self.env, "db", "upgrade")
        _run(self.env, "deploy", *DIAGRAMS)
        for name, (roles, agency, manager) in TEAM.items():
            args = [a for role in roles for a in ("--role", role)] + ["--agency", agency]
            if manager:
                args += ["--manager", manager]
            _run(self.env, "users", "add", name, *args, "--password-stdin", stdin=PASSWORD)
        self.service: Service | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.service.port}"

    def start(self, clock_offset_seconds: float = 0) -> None:
        self.stop()
        env = {**self.env, "SAFEGUARD_CLOCK_OFFSET": str(int(clock_offset_seconds))}
        self.service = Service(env, self.log)
        self.service.start()

    def stop(self) -> None:
        if self.service is not None:
            self.service.kill()
            self.service = None

    def api(self, username: str, method: str, path: str, body: dict | None = None):
        """One API call as ``username`` with a fresh bearer token; ``(status, json)``."""
        self.service.token = None
        return served.api(self.service, username, method, path, body)

    def wait_for(self, what, timeout: float = 30.0):
        """Poll ``what()`` until it returns something truthy: work the scheduler's thread does
        after the service started (there is nothing to be told when it is done)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = what()
            if found:
                return found
            time.sleep(0.2)
        pytest.fail(f"not seen within {timeout} s:\n{self.log.read_text(errors='replace')[-3000:]}")


@contextmanager
def casework(tmp_path: Path) -> Iterator[Casework]:
    running = Casework(tmp_path)
    try:
        running.start()
        yield running
    finally:
        running.stop()


@contextmanager
def chromium(executable: str) -> Iterator:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=FLAGS)
        try:
            yield browser
        finally:
            browser.close()


def new_page(browser, viewport: dict = WIDE):
    page = browser.new_context(viewport=viewport).new_page()
    page.set_default_timeout(15_000)
    return page


def sign_in(page, base: str, username: str) -> None:
    page.goto(base + "/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.keyboard.press("Enter")
    # Each lands on their home: My work, or the reports or the modeller for those who do no
    # casework.
    page.wait_for_url(lambda url: url.startswith(base + "/") and "/login" not in url)


def choose(page, field: str, value: str) -> None:
    """Tick a radio button of a form field by its value (booleans: "true"/"false")."""
    page.check(f'input[name="{field}"][value="{value}"]')


def fits_the_width(page) -> bool:
    """Nothing sticks out sideways (no horizontal scrolling at this viewport)."""
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
