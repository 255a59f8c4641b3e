"""A process owner's diagram grants no access and cannot hold the service (issue 14, points 4-5).

Played through the HTTP API: a deploy that offers work to the board, gives it to a person by
name, or repeats a timer without end is refused with 422 naming the element; ``safeguard deploy``
exits 1 on the same. At run time a default assignee (``initiator``, ``performer("step")``) gets
the task only if they hold one of its roles; otherwise it waits in the pool.
"""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from service.cli import main
from tests.support.helpers import THREE_STEPS, assert_error, deploy_xml, open_task_id

INITIATOR = b'camunda:assignee="initiator"'
END_DONE = b'    <bpmn:endEvent id="end_done" name="Action taken">\n'


def _line(content: bytes, needle: bytes) -> int:
    return content[: content.index(needle)].count(b"\n") + 1


def _hostile() -> bytes:
    """three_steps with three ways to overreach: a board candidate, a named assignee, an
    unbounded cycle."""
    content = THREE_STEPS.replace(
        b'camunda:candidateGroups="manager"', b'camunda:candidateGroups="board"'
    ).replace(INITIATOR, b'camunda:assignee="sam"')
    cycle = (
        b'    <bpmn:boundaryEvent id="nag" attachedToRef="describe" cancelActivity="false">\n'
        b'      <bpmn:timerEventDefinition id="nag_def">'
        b'<bpmn:timeCycle>"R/PT1M"</bpmn:timeCycle></bpmn:timerEventDefinition>\n'
        b"    </bpmn:boundaryEvent>\n"
    )
    return content.replace(END_DONE, cycle + END_DONE)


def test_a_diagram_that_overreaches_is_refused_with_each_element_and_line(client):
    content = _hostile()
    error = assert_error(deploy_xml(client, content, "hostile.bpmn"), 422, "invalid_bpmn")
    found = {d["element_id"]: d for d in error["details"]}
    assert set(found) == {"review", "act", "nag"}, error["details"]
    assert "'board'" in found["review"]["message"]
    assert found["review"]["line"] == _line(content, b'<bpmn:userTask id="review"')
    assert "'sam'" in found["act"]["message"]
    assert found["act"]["line"] == _line(content, b'<bpmn:userTask id="act"')
    assert "without end" in found["nag"]["message"]
    assert found["nag"]["line"] == _line(content, b'<bpmn:boundaryEvent id="nag"')
    assert client.get("/api/process-definitions").get_json()["items"] == []
    checked = client.post(
        "/api/process-definitions/validate",
        data=content,
        headers={"Content-Type": "application/xml"},
    )
    assert {p["element_id"] for p in checked.get_json()["problems"]} == {"review", "act", "nag"}


def test_safeguard_deploy_exits_1_on_the_same_diagram(db_url, client, tmp_path):
    hostile = tmp_path / "hostile.bpmn"
    hostile.write_bytes(_hostile())
    result = CliRunner().invoke(main, ["deploy", str(hostile)], env={"DATABASE_URL": db_url})
    assert result.exit_code == 1, result.output
    line = _line(_hostile(), b'<bpmn:userTask id="review"')
    assert f"{hostile}:{line} [review]" in result.stderr


# -- run time -------------------------------------------------------------------------------------
@pytest.fixture
def people(client_for):
    return {
        "pat": client_for("pat", ["practitioner"], agency="school"),
        "priya": client_for("priya", ["practitioner"], agency="school"),
        "maya": client_for("maya", ["manager"], agency="school"),
        "mo": client_for("mo", ["manager", "practitioner"], agency="school"),
    }


def _to_act(app, starter, describer, reviewer, cold: bool = False) -> tuple[str, dict]:
    """Start as ``starter``; ``describer`` and ``reviewer`` do the first two steps; the act task
    as its completion answered and as it is stored. ``cold``: the instance is not in the cache
    when the review is completed (the read path, as after a restart)."""
    started = starter.post(
        "/api/process-instances", json={"process_key": "three_steps", "business_key": "child-1"}
    )
    assert started.status_code == 201, started.get_json()
    instance_id = started.get_json()["id"]
    describe = open_task_id(app, instance_id, "describe")
    done = describer.post(f"/api/tasks/{describe}/complete", json={"data": {"concern": "x"}})
    assert done.status_code == 200, done.get_json()
    review = open_task_id(app, instance_id, "review")
    if cold:
        app.extensions["safeguard"].engine.instances.clear()
    done = reviewer.post(f"/api/tasks/{review}/complete", json={"data": {"approved": True}})
    assert done.status_code == 200, done.get_json()
    [act] = done.get_json()["active_tasks"]
    assert act["element_id"] == "act"
    return act["assignee"], starter.get(f"/api/tasks/{act['id']}").get_json()


def _deploy(client, assignee: bytes) -> None:
    response = deploy_xml(client, THREE_STEPS.replace(INITIATOR, assignee))
    assert response.status_code == 201, response.get_json()


@pytest.mark.parametrize("cold", [False, True], ids=["cached", "read-path"])
def test_performer_gives_the_step_to_whoever_did_the_earlier_one(app, client, people, cold):
    _deploy(client, b"camunda:assignee=\"performer('describe')\"")
    answered, stored = _to_act(app, people["pat"], people["priya"], people["maya"], cold)
    assert answered == stored["assignee"] == "priya"  # not pat, who started it


def test_a_performer_without_the_steps_role_leaves_it_to_the_pool(app, client, people):
    _deploy(client, b'camunda:assignee="performer(&quot;review&quot;)"')
    answered, stored = _to_act(app, people["pat"], people["pat"], people["maya"])
    assert answered is None and stored["assignee"] is None  # maya is no practitioner
    candidates = people["priya"].get("/api/tasks?view=candidate").get_json()["items"]
    assert [t["element_id"] for t in candidates] == ["act"]
    mine = people["maya"].get("/api/tasks?view=mine").get_json()["items"]
    assert mine == []


def test_a_performer_with_the_steps_role_gets_it(app, client, people):
    _deploy(client, b'camunda:assignee="performer(&quot;review&quot;)"')
    answered, _ = _to_act(app, people["pat"], people["pat"], people["mo"])
    assert answered == "mo"


def test_an_initiator_without_the_steps_role_leaves_it_to_the_pool(app, client, people):
    _deploy(client, INITIATOR)
    # maya (a manager, no practitioner) starts it: the act step, a practitioner's, is not hers.
    answered, stored = _to_act(app, people["maya"], people["pat"], people["maya"])
    assert answered is None and stored["assignee"] is None
