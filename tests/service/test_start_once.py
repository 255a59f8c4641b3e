"""A start sent twice with the same key makes one case, not two (Idempotency-Key)."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from service.context import services
from storage import UnitOfWork
from storage.models import ProcessInstance
from tests.service.conftest import MONDAY
from tests.support.helpers import assert_error, deploy_xml, make_user, token_client


@pytest.fixture
def app(clocked_app):
    make_user(clocked_app, "ada", ["admin"], agency="partnership")
    assert deploy_xml(token_client(clocked_app, "ada")).status_code == 201
    make_user(clocked_app, "pat", ["practitioner"], agency="school")
    make_user(clocked_app, "sam", ["practitioner"], agency="school")
    return clocked_app


def _instances(app, business_key: str) -> int:
    with app.app_context(), UnitOfWork(services().session_factory) as uow:
        query = select(func.count()).where(ProcessInstance.business_key == business_key)
        return uow.session.scalar(query)


def _start(client, key: str | None, business_key: str = "child-1"):
    headers = {"Idempotency-Key": key} if key is not None else {}
    return client.post(
        "/api/process-instances",
        json={"process_key": "three_steps", "business_key": business_key},
        headers=headers,
    )


def test_the_same_key_again_answers_the_first_instance(app):
    pat = token_client(app, "pat")
    first = _start(pat, "5f0c6c1e-retry")
    again = _start(pat, "5f0c6c1e-retry")
    assert first.status_code == again.status_code == 201
    assert again.get_json()["id"] == first.get_json()["id"]
    assert "Idempotent-Replayed" not in first.headers
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json()["active_tasks"] == first.get_json()["active_tasks"]
    assert _instances(app, "child-1") == 1


def test_without_a_key_each_start_is_a_new_instance(app):
    pat = token_client(app, "pat")
    assert _start(pat, None).status_code == _start(pat, None).status_code == 201
    assert _instances(app, "child-1") == 2


def test_a_key_is_the_senders_own(app):
    ids = {_start(token_client(app, who), "same-key").get_json()["id"] for who in ("pat", "sam")}
    assert len(ids) == 2


def test_a_key_used_for_something_else_is_refused(app):
    pat = token_client(app, "pat")
    assert _start(pat, "k-1", business_key="child-1").status_code == 201
    assert_error(_start(pat, "k-1", business_key="child-2"), 422, "request_key_reused")
    assert _instances(app, "child-2") == 0


@pytest.mark.parametrize("key", ["", "has space", "x" * 201, "caf\u00e9"])
def test_a_malformed_key_is_refused_before_anything_starts(app, key):
    response = _start(token_client(app, "pat"), key)
    assert response.status_code in (400, 422), response.get_json()
    assert _instances(app, "child-1") == 0


def test_keys_are_kept_a_day(app, clock):
    pat = token_client(app, "pat")
    first = _start(pat, "k-day").get_json()["id"]
    clock.set(MONDAY + timedelta(hours=23))
    assert _start(pat, "k-day").get_json()["id"] == first
    clock.set(MONDAY + timedelta(hours=25))
    assert _start(pat, "k-day").get_json()["id"] != first
    assert _instances(app, "child-1") == 2


def test_racing_retries_make_one_instance(app):
    clients = [token_client(app, "pat") for _ in range(6)]
    answers: list = []
    go = threading.Barrier(len(clients), timeout=10)

    def send(client) -> None:
        go.wait()
        answers.append(_start(client, "k-race"))

    threads = [threading.Thread(target=send, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    statuses = sorted(a.status_code for a in answers)
    assert set(statuses) <= {201, 409} and 201 in statuses, statuses
    assert len({a.get_json()["id"] for a in answers if a.status_code == 201}) == 1
    assert _instances(app, "child-1") == 1
