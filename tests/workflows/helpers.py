"""Small helpers shared by the engine tests."""

from __future__ import annotations

from sqlalchemy import select

from storage.models import Task
from tests.conftest import fixture_bytes
from workflows.instances import Engine

THREE_STEPS_PATH = [
    ("describe", {"concern": "bruising on arms", "severity": 8}),
    ("review", {"approved": True}),
    ("act", {"action_taken": "referred to MASH"}),
]


def deploy(
    engine: Engine, uow_factory, name: str = "three_steps.bpmn", content: bytes | None = None
):
    with uow_factory() as uow:
        result = engine.deploy(uow, content or fixture_bytes(name), name, deployed_by="olive")
        uow.commit()
    return result


def start(engine: Engine, uow_factory, key: str = "three_steps", **kwargs):
    with uow_factory() as uow:
        advance = engine.start(uow, key, **kwargs)
        uow.commit()
    return advance


def open_tasks(uow_factory, instance_id: str) -> list[Task]:
    with uow_factory() as uow:
        return list(
            uow.session.scalars(
                select(Task).where(Task.instance_id == instance_id, Task.status == "open")
            )
        )


def complete(engine: Engine, uow_factory, task_id: str, data: dict, user: str = "pat"):
    with uow_factory() as uow:
        advance = engine.complete_task(uow, task_id, data, user=user)
        uow.commit()
    return advance


def the_open_task(uow_factory, instance_id: str) -> Task:
    tasks = open_tasks(uow_factory, instance_id)
    assert len(tasks) == 1, [t.element_id for t in tasks]
    return tasks[0]


def without_describe() -> bytes:
    """``three_steps`` with its first step ("describe") dropped: the start leads to scoring."""
    text = fixture_bytes("three_steps.bpmn").decode()
    task_xml = text[
        text.index('    <bpmn:userTask id="describe"') : text.index("    <bpmn:scriptTask")
    ]
    dropped = (
        text.replace(task_xml, "")
        .replace("<bpmn:flowNodeRef>describe</bpmn:flowNodeRef>", "")
        .replace('targetRef="describe"', 'targetRef="score"')
        .replace('<bpmn:sequenceFlow id="f2" sourceRef="describe" targetRef="score" />', "")
        .replace("<bpmn:incoming>f2</bpmn:incoming>", "<bpmn:incoming>f1</bpmn:incoming>")
    )
    return "\n".join(
        line
        for line in dropped.splitlines()
        if 'bpmnElement="describe"' not in line and 'bpmnElement="f2"' not in line
    ).encode()
