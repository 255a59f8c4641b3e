"""Small helpers shared by the service tests."""

from __future__ import annotations

from sqlalchemy import select

from service.app import services
from storage import UnitOfWork
from storage.models import Task
from tests.conftest import fixture_bytes

XML = {"Content-Type": "application/xml"}
THREE_STEPS = fixture_bytes("three_steps.bpmn")
WAIT = fixture_bytes("wait_for_message.bpmn")
# Same key, different content: a second version of three_steps.
THREE_STEPS_V2 = THREE_STEPS.replace(b'name="Take the action"', b'name="Take the agreed action"')


def deploy_xml(client, content: bytes | None = None, filename: str | None = None):
    """POST a diagram as ``application/xml``; returns the response."""
    url = "/api/process-definitions"
    if filename:
        url += f"?filename={filename}"
    return client.post(url, data=content or THREE_STEPS, headers=XML)


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
