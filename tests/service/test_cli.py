"""The ``safeguard`` command: ``db upgrade``, ``validate FILE...`` and ``deploy FILE...``."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from click.testing import CliRunner
from sqlalchemy import inspect

from service.cli import main
from storage import make_engine
from tests.conftest import FIXTURES
from tests.support.helpers import THREE_STEPS, THREE_STEPS_V2

THREE_STEPS_FILE = FIXTURES / "three_steps.bpmn"
WAIT_FILE = FIXTURES / "wait_for_message.bpmn"
BROKEN = THREE_STEPS.replace(b'targetRef="end_done"', b'targetRef="gone"')
BROKEN_LINE = THREE_STEPS[: THREE_STEPS.index(b'<bpmn:sequenceFlow id="f5"')].count(b"\n") + 1


@pytest.fixture
def run(db_url):
    """Run ``safeguard ARGS...`` against the test database."""

    def invoke(*args: str):
        return CliRunner().invoke(main, [str(a) for a in args], env={"DATABASE_URL": db_url})

    return invoke


def _versions(client, key: str = "three_steps") -> list[tuple[int, str | None]]:
    response = client.get(f"/api/process-definitions/{key}/versions")
    if response.status_code == 404:
        return []
    return [(d["version"], d["deployed_by"]) for d in response.get_json()["items"]]


def test_db_upgrade_creates_a_fresh_sqlite_database(tmp_path):
    url = f"sqlite:///{tmp_path / 'var' / 'fresh.db'}"
    result = CliRunner().invoke(main, ["db", "upgrade"], env={"DATABASE_URL": url})
    assert result.exit_code == 0, result.output
    assert "database is up to date" in result.output
    engine = make_engine(url)
    try:
        tables = set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert {"process_definition", "process_instance", "task", "app_user"} <= tables
    again = CliRunner().invoke(main, ["db", "upgrade"], env={"DATABASE_URL": url})
    assert again.exit_code == 0, again.output


def test_db_upgrade_is_idempotent_on_both_databases(run):
    result = run("db", "upgrade")
    assert result.exit_code == 0, result.output
    assert "database is up to date" in result.output


def test_db_upgrade_hides_the_password(monkeypatch):
    monkeypatch.setattr("storage.migrate.upgrade", lambda *a, **k: None)
    url = "postgresql+psycopg://sg:hunter2secret@db.example:5432/sg"
    result = CliRunner().invoke(main, ["db", "upgrade"], env={"DATABASE_URL": url})
    assert result.exit_code == 0, result.output
    assert "hunter2secret" not in result.output
    assert "db.example" in result.output


def test_deploy_prints_key_and_version_then_unchanged(run, client):
    result = run("deploy", THREE_STEPS_FILE)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"{THREE_STEPS_FILE}: three_steps version 1 (deployed)"
    again = run("deploy", THREE_STEPS_FILE)
    assert again.exit_code == 0
    assert again.stdout.strip() == f"{THREE_STEPS_FILE}: three_steps version 1 (unchanged)"
    assert _versions(client) == [(1, None)]
    assert client.get("/api/process-definitions/three_steps/xml").data == THREE_STEPS


def test_deploy_a_changed_file_is_version_2_and_records_who(run, client, tmp_path):
    run("deploy", THREE_STEPS_FILE)
    changed = tmp_path / "three_steps.bpmn"
    changed.write_bytes(THREE_STEPS_V2)
    result = run("deploy", "--by", "olive.owner", changed)
    assert result.exit_code == 0, result.output
    assert "three_steps version 2 (deployed)" in result.stdout
    assert _versions(client) == [(1, None), (2, "olive.owner")]


def test_deploy_several_files_and_a_directory(run, client, tmp_path):
    result = run("deploy", THREE_STEPS_FILE, WAIT_FILE)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        f"{THREE_STEPS_FILE}: three_steps version 1 (deployed)",
        f"{WAIT_FILE}: wait_for_message version 1 (deployed)",
    ]
    folder = tmp_path / "bpmn"
    folder.mkdir()
    (folder / "a.bpmn").write_bytes(THREE_STEPS_V2)
    (folder / "notes.txt").write_text("not a diagram")
    result = run("deploy", folder)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [f"{folder / 'a.bpmn'}: three_steps version 2 (deployed)"]


def test_deploy_an_invalid_file_prints_file_line_element_message_and_exits_1(run, client, tmp_path):
    broken = tmp_path / "broken.bpmn"
    broken.write_bytes(BROKEN)
    result = run("deploy", broken)
    assert result.exit_code == 1
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines[0] == f"{broken}: not deployed, 1 problem(s):"
    assert lines[1].startswith(f"  {broken}:{BROKEN_LINE} [f5]: ")
    assert "gone" in lines[1]
    assert _versions(client) == []


def test_deploy_reports_every_file_and_exits_1_if_any_failed(run, client, tmp_path):
    broken = tmp_path / "broken.bpmn"
    broken.write_bytes(BROKEN)
    result = run("deploy", broken, WAIT_FILE)
    assert result.exit_code == 1
    assert f"{WAIT_FILE}: wait_for_message version 1 (deployed)" in result.stdout
    assert f"{broken}:{BROKEN_LINE} [f5]" in result.stderr
    assert _versions(client, "wait_for_message") == [(1, None)]
    assert _versions(client) == []


def test_deploy_malformed_and_non_utf8_files_without_a_traceback(run, client, tmp_path):
    malformed = tmp_path / "malformed.bpmn"
    malformed.write_bytes(b"<bpmn:definitions")
    latin1 = tmp_path / "latin1.bpmn"
    latin1.write_bytes(
        THREE_STEPS.replace(b'encoding="UTF-8"', b'encoding="ISO-8859-1"').replace(
            b'name="Three steps" isExecutable', b'name="Three st\xe9ps" isExecutable'
        )
    )
    result = run("deploy", malformed, latin1)
    assert result.exit_code == 1
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert f"  {malformed}:1: " in result.stderr
    assert f"{latin1}: not deployed" in result.stderr and "UTF-8" in result.stderr
    assert "Traceback" not in result.output
    assert client.get("/api/process-definitions").get_json()["items"] == []


def test_deploy_a_missing_file_is_a_usage_error(run, client, tmp_path):
    result = run("deploy", tmp_path / "nope.bpmn", THREE_STEPS_FILE)
    assert result.exit_code == 2
    assert "does not exist" in result.output
    assert _versions(client) == []


def test_deploy_needs_at_least_one_path(run):
    assert run("deploy").exit_code == 2


def test_deploy_an_empty_directory_says_so(run, tmp_path):
    result = run("deploy", tmp_path)
    assert result.exit_code == 0
    assert "no .bpmn files" in result.stdout


# -- conventions on the command line (issue 20) -------------------------------------------------
NO_DUE_TIME = FIXTURES / "foreign" / "c7_user_task_no_due_time.bpmn"


def test_validate_lists_every_problem_and_deploys_nothing(run, client):
    result = run("validate", NO_DUE_TIME)
    assert result.exit_code == 1
    assert "[check]: the user task has no due time" in result.stderr
    assert _versions(client, "c7_user_task_no_due_time") == []
    clean = run("validate", THREE_STEPS_FILE)
    assert clean.exit_code == 0, clean.output
    assert clean.stdout.strip() == f"{THREE_STEPS_FILE}: three_steps is valid"


def test_conventions_are_on_by_default_and_can_be_switched_off(run, client):
    refused = run("deploy", NO_DUE_TIME)
    assert refused.exit_code == 1
    assert "no due time" in refused.stderr
    assert run("validate", "--no-conventions", NO_DUE_TIME).exit_code == 0
    deployed = run("deploy", "--no-conventions", NO_DUE_TIME)
    assert deployed.exit_code == 0, deployed.output
    assert "c7_user_task_no_due_time version 1 (deployed)" in deployed.stdout
    assert run("validate", "--conventions", NO_DUE_TIME).exit_code == 1


def test_diagram_conventions_is_read_from_the_environment():
    def validate(flag: str):
        env = {"DIAGRAM_CONVENTIONS": flag}
        return subprocess.run(
            [sys.executable, "-m", "service.cli", "validate", str(NO_DUE_TIME)],
            env={**os.environ, **env},
            capture_output=True,
            text=True,
            timeout=60,
        )

    assert validate("false").returncode == 0
    assert validate("true").returncode == 1


def test_a_warning_is_printed_and_does_not_fail(run):
    result = run("validate", FIXTURES / "foreign" / "spiff_instructions.bpmn")
    assert result.exit_code == 0, result.output
    assert "[visit]: warning: spiffworkflow:instructionsForEndUser is not shown" in result.stderr
