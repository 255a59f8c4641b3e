"""``safeguard users ...`` and ``safeguard agencies ...`` check against the same registry and
roles as the administration pages, list the valid ones when refusing, and audit each change
with the state before and after (issue 19, point 4)."""

from __future__ import annotations

from urllib.parse import urlsplit

import click
import pytest
from click.testing import CliRunner
from sqlalchemy import select

from service.app import create_app
from service.cli import main
from service.context import services
from storage import UnitOfWork
from storage.models import AuditEvent, User

VALID = "childrens_social_care, early_help, health, other, partnership, police, school, voluntary"


@pytest.fixture
def run(db_url):
    def invoke(*args: str, stdin: str | None = None):
        env = {"DATABASE_URL": db_url, "BASE_URL": "https://safeguard.example"}
        return CliRunner().invoke(main, list(args), input=stdin, env=env)

    return invoke


@pytest.fixture
def app(db_url):
    built = create_app({"DATABASE_URL": db_url, "TESTING": True})
    yield built
    built.extensions["safeguard"].db.dispose()


def add(run, name: str, *args: str):
    result = run("users", "add", name, *args, "--password-stdin", stdin="long-enough-password\n")
    return result


def details(app, action: str) -> list[dict]:
    with app.app_context(), UnitOfWork(services().session_factory) as unit:
        query = select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.at)
        return [e.detail for e in unit.session.scalars(query)]


def test_every_command_says_what_it_does():
    def walk(command: click.Command, path: str):
        yield path, command
        for name, sub in getattr(command, "commands", {}).items():
            yield from walk(sub, f"{path} {name}")

    for path, command in walk(main, "safeguard"):
        assert (command.help or "").strip(), f"{path} has no help text"
    for group in ("users", "agencies"):
        for name, command in main.commands[group].commands.items():
            for option in command.params:
                if isinstance(option, click.Option):
                    assert option.help, f"{group} {name} {option.opts[0]} has no help text"


def test_a_typo_in_an_agency_or_a_role_is_an_error_listing_the_valid_ones(run, app):
    typo = add(run, "sam", "--role", "practitioner", "--agency", "schoool")
    assert typo.exit_code == 1
    assert f"agency: unknown agency 'schoool'; the agencies are: {VALID}" in typo.output
    role = add(run, "sam", "--role", "teacher", "--agency", "school")
    assert role.exit_code == 1
    assert "unknown role(s): teacher; the roles are: practitioner, manager, dsl" in role.output
    assert add(run, "sam", "--role", "practitioner", "--agency", "school").exit_code == 0
    edit = run("users", "edit", "sam", "--agency", "helth")
    assert edit.exit_code == 1 and "the agencies are: " in edit.output


def test_edit_changes_agency_and_manager_and_is_audited_before_and_after(run, app):
    assert add(run, "hal", "--role", "manager", "--agency", "health").exit_code == 0
    assert add(run, "sam", "--role", "practitioner", "--agency", "school").exit_code == 0
    foreign = run("users", "edit", "sam", "--manager", "hal")
    assert foreign.exit_code == 1 and "hal is not of the agency school" in foreign.output
    moved = run("users", "edit", "sam", "--agency", "health", "--manager", "hal")
    assert moved.exit_code == 0, moved.output
    listed = run("users", "list").output
    assert "sam\tpractitioner\thealth\thal" in listed
    [change] = details(app, "cli.users.edit")
    assert (change["before"]["agency"], change["after"]["agency"]) == ("school", "health")
    assert (change["before"]["manager"], change["after"]["manager"]) == (None, "hal")


def test_the_registry_at_the_command_line(run, app):
    assert "school\tSchool" in run("agencies", "list").output
    added = run("agencies", "add", "youth_justice", "Youth justice service")
    assert added.exit_code == 0, added.output
    assert run("agencies", "add", "youth_justice", "Again").exit_code == 1
    assert run("agencies", "rename", "youth_justice", "Youth justice").exit_code == 0
    assert add(run, "yan", "--role", "practitioner", "--agency", "youth_justice").exit_code == 0
    assert run("agencies", "retire", "youth_justice").exit_code == 0
    assert "youth_justice\tYouth justice (retired)" in run("agencies", "list").output
    refused = add(run, "yul", "--role", "practitioner", "--agency", "youth_justice")
    assert refused.exit_code == 1 and "unknown agency 'youth_justice'" in refused.output
    police = run("agencies", "retire", "police")
    assert police.exit_code == 1 and "named by the diagrams" in police.output
    unknown = run("agencies", "retire", "polis")
    assert unknown.exit_code == 1 and "`safeguard agencies list`" in unknown.output
    [retired] = details(app, "cli.agencies.retire")
    assert (retired["before"]["active"], retired["after"]["active"]) == (True, False)


def test_a_lost_password_gets_a_reset_link_that_works_once(run, app):
    assert add(run, "sam", "--role", "practitioner", "--agency", "school").exit_code == 0
    printed = run("users", "reset-link", "sam")
    assert printed.exit_code == 0, printed.output
    link = printed.stdout.strip()
    assert link.startswith("https://safeguard.example/reset/")
    client = app.test_client()
    form = client.get(urlsplit(link).path)
    assert form.status_code == 200
    with app.app_context(), UnitOfWork(services().session_factory) as unit:
        assert unit.session.scalar(select(User.active).where(User.username == "sam"))
    [issued] = details(app, "cli.users.reset_link")
    assert link.rsplit("/", 1)[1] not in str(issued)
    assert run("users", "disable", "sam").exit_code == 0
    assert client.get(urlsplit(link).path).status_code == 410
    assert run("users", "reset-link", "sam").exit_code == 1
    assert run("users", "enable", "sam").exit_code == 0
