"""What the page tests share: an app with people who sign in through the login form.

Each test module says who its people are and which diagrams it needs; this builds the app on the
test's database (SQLite and PostgreSQL), deploys ``three_steps.bpmn`` and the shipped diagrams
asked for, and disposes of it afterwards.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from service.app import create_app
from tests.support.helpers import admin_client, deploy_xml, make_user
from tests.support.pages import PASSWORD

BPMN = Path(__file__).resolve().parents[2] / "bpmn"


@pytest.fixture
def page_app(db_url) -> Iterator[Callable]:
    """``page_app(people, shipped=(), clock=None)``: ``people`` maps a username to
    ``make_user``'s keywords (password :data:`PASSWORD` unless given)."""
    built = []

    def build(people: dict[str, dict], shipped: tuple[str, ...] = (), clock=None):
        app = create_app({"DATABASE_URL": db_url, "TESTING": True}, clock=clock)
        for name, details in people.items():
            make_user(app, name, **{"password": PASSWORD, **details})
        admin = admin_client(app)
        assert deploy_xml(admin, filename="three_steps.bpmn").status_code == 201
        for key in shipped:
            diagram = (BPMN / f"{key}.bpmn").read_bytes()
            assert deploy_xml(admin, diagram, f"{key}.bpmn").status_code == 201
        built.append(app)
        return app

    yield build
    for app in built:
        app.extensions["safeguard"].db.dispose()
