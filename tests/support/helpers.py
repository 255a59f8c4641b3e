"""Small helpers shared by the service tests."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from records.sealing import Sealed, seal
from service import trail
from service.auth import issue_token
from service.context import services
from service.users import create_user
from storage import UnitOfWork
from storage.models import Task, User
from tests.conftest import fixture_bytes

XML = {"Content-Type": "application/xml"}
THREE_STEPS = fixture_bytes("three_steps.bpmn")
WAIT = fixture_bytes("wait_for_message.bpmn")
# Same key, different content: a second version of three_steps.
THREE_STEPS_V2 = THREE_STEPS.replace(b'name="Take the action"', b'name="Take the agreed action"')


def make_user(app, username: str, roles: list[str], **fields) -> None:
    """A user straight in the database (no password unless given: hashing is slow on purpose)."""
    with app.app_context(), UnitOfWork(services().session_factory) as uow:
        create_user(uow.session, services().clock, username, roles=roles, **fields)
        uow.commit()


def admin_client(app, username: str = "ada"):
    """A client signed in as an administrator, created if missing."""
    with app.app_context(), UnitOfWork(services().session_factory) as uow:
        exists = uow.session.scalar(select(User.id).where(User.username == username))
    if exists is None:
        make_user(app, username, ["admin"], agency="partnership")
    return token_client(app, username)


def auditor_client(app, username: str = "dee"):
    """A client signed in as the partnership's data protection officer (who reads the sharing
    register and the audit trail), created if missing."""
    with app.app_context(), UnitOfWork(services().session_factory) as uow:
        exists = uow.session.scalar(select(User.id).where(User.username == username))
    if exists is None:
        make_user(app, username, ["auditor"], agency="partnership")
    return token_client(app, username)


def token_client(app, username: str):
    """A test client that sends a fresh bearer token of ``username`` on every request."""
    with app.app_context(), UnitOfWork(services().session_factory) as uow:
        user = uow.session.scalars(select(User).where(User.username == username)).one()
        raw, _ = issue_token(uow.session, user, services().clock.now(), timedelta(days=365))
        uow.commit()
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {raw}"
    return client


def deploy_xml(client, content: bytes | None = None, filename: str | None = None):
    """POST a diagram as ``application/xml``; returns the response."""
    url = "/api/process-definitions"
    if filename:
        url += f"?filename={filename}"
    return client.post(url, data=content or THREE_STEPS, headers=XML)


def casework_people(client, client_for, people: dict) -> dict:
    """``three_steps`` and ``wait_for_message`` deployed, and a signed-in client for each of
    ``people`` (name -> (roles, agency, manager's name or None)), managers listed first."""
    assert deploy_xml(client).status_code == 201
    assert deploy_xml(client, WAIT).status_code == 201
    return {
        name: client_for(name, roles, agency=agency, manager=manager)
        for name, (roles, agency, manager) in people.items()
    }


def start_instance(client, key: str = "three_steps", **fields):
    return client.post("/api/process-instances", json={"process_key": key, **fields})


def complete_task(app, task_id: str, data: dict, user: str = "pat") -> None:
    """Complete a task with the engine itself (the task routes belong to a later issue)."""
    with app.app_context(), UnitOfWork(services().session_factory) as uow:
        services().engine.complete_task(uow, task_id, data, user=user)
        uow.commit()


def open_task_id(app, instance_id: str, element_id: str) -> str:
    with app.app_context(), UnitOfWork(services().session_factory) as uow:
        return uow.session.scalars(
            select(Task.id).where(
                Task.instance_id == instance_id,
                Task.element_id == element_id,
                Task.status == "open",
            )
        ).one()


def assert_error(response, status: int, code: str | None = None) -> dict:
    """The response is the JSON error shape of api.md with ``status`` (and ``code``)."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert set(body) == {"error"}
    error = body["error"]
    assert set(error) == {"code", "message", "details"}
    assert isinstance(error["message"], str) and error["message"]
    assert isinstance(error["details"], list)
    assert "Traceback" not in response.get_data(as_text=True)
    if code is not None:
        assert error["code"] == code
    return error


def clients_for(client_for, people: dict[str, tuple]) -> dict:
    """A signed-in API client per person: ``{name: (roles, agency, manager)}``."""
    return {
        name: client_for(name, roles, agency=agency, manager=manager)
        for name, (roles, agency, manager) in people.items()
    }


def active_task(client, instance_id: str, element_id: str) -> dict:
    """The instance's open task ``element_id``, as its viewer sees it."""
    body = client.get(f"/api/process-instances/{instance_id}").get_json()
    return next(t for t in body["active_tasks"] if t["element_id"] == element_id)


def seal_now(app, **options) -> Sealed:
    """What the serving processes' sealer does every few seconds: this process's queued reads
    inserted, then the audit trail and the sharing register chained."""
    trail.flush(app)
    with app.app_context():
        return seal(services().session_factory, services().clock.now(), **options)
