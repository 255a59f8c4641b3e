"""The Flask app on a real database (SQLite and PostgreSQL, through ``db_url``) and its clients.

``client`` is signed in as an administrator, who passes every role check (deploys, for one) but,
like anyone, sees only the cases they start or work on; ``client_for`` gives a client signed in
as a particular person, for casework and for the tests of roles and need-to-know.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from service.app import create_app
from tests.support.helpers import deploy_xml, make_user, token_client
from workflows.clock import FrozenClock

MONDAY = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)  # a working Monday morning in London


@pytest.fixture
def app(db_url):
    app = create_app({"DATABASE_URL": db_url, "TESTING": True})
    yield app
    app.extensions["safeguard"].db.dispose()


@pytest.fixture
def anonymous(app):
    return app.test_client()


@pytest.fixture
def client(app):
    make_user(app, "ada", ["admin"], agency="partnership")
    return token_client(app, "ada")


@pytest.fixture
def client_for(app):
    """``client_for("pat", ["practitioner"], agency="school", manager="maya")``: a signed-in client.

    The user is created on first use; later calls with the same name reuse them.
    """
    made: dict[str, object] = {}

    def make(username: str, roles: list[str] | None = None, **fields):
        if username not in made:
            make_user(app, username, roles or ["practitioner"], **fields)
            made[username] = token_client(app, username)
        return made[username]

    return make


@pytest.fixture
def deployed(client) -> dict:
    """``three_steps`` deployed once (version 1), as the API answered."""
    response = deploy_xml(client, filename="three_steps.bpmn")
    assert response.status_code == 201, response.get_json()
    return response.get_json()


@pytest.fixture
def clock():
    """The service's clock, to move by hand (``clock.set``): time is never slept through."""
    return FrozenClock(MONDAY)


@pytest.fixture
def clocked_app(db_url, clock):
    """Like ``app``, on ``clock``."""
    app = create_app({"DATABASE_URL": db_url, "TESTING": True}, clock=clock)
    yield app
    app.extensions["safeguard"].db.dispose()
