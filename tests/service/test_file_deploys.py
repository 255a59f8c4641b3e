"""Deploys from files never override the browser (workflows/file_deploys.py, README "Diagrams on
disk and in the modeller"): ``safeguard deploy`` at every start leaves a version made in the
modeller alone, refuses a changed file over it unless ``--force``, and records which file each
version came from."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from sqlalchemy import update

from service.cli import main
from storage import UnitOfWork
from storage.models import ProcessDefinition
from tests.support.helpers import THREE_STEPS, THREE_STEPS_V2, deploy_xml

EDITED_IN_BROWSER = THREE_STEPS.replace(b'camunda:dueDate="2WD"', b'camunda:dueDate="3WD"')
CHANGED_ON_DISK = THREE_STEPS.replace(b'label="Who raised it?"', b'label="Who raised it first?"')


@pytest.fixture
def run(db_url):
    def invoke(*args):
        return CliRunner().invoke(main, [str(a) for a in args], env={"DATABASE_URL": db_url})

    return invoke


@pytest.fixture
def diagram(tmp_path):
    path = tmp_path / "bpmn" / "three_steps.bpmn"
    path.parent.mkdir()
    path.write_bytes(THREE_STEPS)
    return path


def _versions(client) -> list[tuple[int, str | None, str | None]]:
    items = client.get("/api/process-definitions/three_steps/versions").get_json()["items"]
    return [(d["version"], d["source"], d["deployed_by"]) for d in items]


def _latest_xml(client) -> bytes:
    return client.get("/api/process-definitions/three_steps/xml").data


def test_a_browser_deploy_survives_two_restarts(run, client, diagram):
    assert run("deploy", diagram.parent).exit_code == 0  # the first start: version 1
    browser = deploy_xml(client, EDITED_IN_BROWSER)
    assert browser.status_code == 201 and browser.get_json()["version"] == 2
    for _restart in range(2):
        started = run("deploy", diagram.parent)
        assert started.exit_code == 0, started.output
        assert started.stdout.strip() == (
            f"{diagram}: three_steps version 2 (unchanged: the file is as deployed in version 1; "
            "version 2, deployed in the modeller or through the API by ada, is kept)"
        )
    assert _versions(client) == [(1, "file", None), (2, "api", "ada")]
    assert _latest_xml(client) == EDITED_IN_BROWSER


def test_a_changed_file_over_a_browser_version_is_refused_naming_both_unless_forced(
    run, client, diagram
):
    run("deploy", diagram)
    deploy_xml(client, EDITED_IN_BROWSER)
    diagram.write_bytes(CHANGED_ON_DISK)
    refused = run("deploy", diagram)
    assert refused.exit_code == 1
    assert f"{diagram}: not deployed: the file changed since version 1 was deployed" in (
        refused.stderr
    )
    assert "the latest version, 2, was deployed in the modeller or through the API by ada" in (
        refused.stderr
    )
    assert "--force to make the file version 3" in refused.stderr
    assert _latest_xml(client) == EDITED_IN_BROWSER

    forced = run("deploy", "--force", diagram)
    assert forced.exit_code == 0, forced.output
    assert forced.stdout.strip() == f"{diagram}: three_steps version 3 (deployed)"
    assert _versions(client)[-1] == (3, "file", None)
    assert _latest_xml(client) == CHANGED_ON_DISK


def test_a_file_changed_after_its_last_deploy_makes_a_version_over_one_from_a_file(
    run, client, diagram
):
    run("deploy", diagram)
    diagram.write_bytes(THREE_STEPS_V2)
    assert "version 2 (deployed)" in run("deploy", diagram).stdout
    diagram.write_bytes(THREE_STEPS)  # back as it was: the file changed again, so it deploys
    assert "version 3 (deployed)" in run("deploy", diagram).stdout
    assert [v for v, *_ in _versions(client)] == [1, 2, 3]


def test_the_browser_version_exported_into_the_file_is_that_version_and_later_edits_deploy(
    run, client, diagram
):
    run("deploy", diagram)
    deploy_xml(client, EDITED_IN_BROWSER)
    exported = client.get("/api/process-definitions/three_steps/versions/2/xml")
    diagram.write_bytes(exported.data)
    assert run("deploy", diagram).stdout.strip() == f"{diagram}: three_steps version 2 (unchanged)"
    diagram.write_bytes(exported.data.replace(b"3WD", b"4WD"))  # edited on disk from version 2
    result = run("deploy", diagram)
    assert result.exit_code == 0, result.output
    assert "version 3 (deployed)" in result.stdout


def test_versions_from_before_the_record_are_kept_and_unknown_ones_not_overridden(
    run, client, diagram, session_factory
):
    run("deploy", diagram)
    deploy_xml(client, EDITED_IN_BROWSER)
    with UnitOfWork(session_factory) as uow:  # as migration 0019 leaves them
        uow.session.execute(update(ProcessDefinition).values(source=None, file_hash=None))
        uow.commit()
    unchanged = run("deploy", diagram)
    assert unchanged.exit_code == 0, unchanged.output
    assert "three_steps version 2 (unchanged: the file is as deployed in version 1;" in (
        unchanged.stdout
    )
    diagram.write_bytes(CHANGED_ON_DISK)
    refused = run("deploy", diagram)
    assert refused.exit_code == 1
    assert "before the service recorded where versions came from" in refused.stderr
