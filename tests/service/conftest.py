"""The Flask app on a real database (SQLite and PostgreSQL, through ``db_url``) and its client."""

from __future__ import annotations

import pytest

from service.app import create_app
from tests.service.helpers import deploy_xml


@pytest.fixture
def app(db_url):
    app = create_app({"DATABASE_URL": db_url, "TESTING": True})
    yield app
    app.extensions["safeguard"].db.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def deployed(client) -> dict:
    """``three_steps`` deployed once (version 1), as the API answered."""
    response = deploy_xml(client, filename="three_steps.bpmn")
    assert response.status_code == 201, response.get_json()
    return response.get_json()
