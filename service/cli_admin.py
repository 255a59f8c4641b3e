"""``safeguard users ...`` and ``safeguard agencies ...``: administration at the command line.

Why apart from ``service/cli.py``: these commands are the administration pages' twins and call
the same functions (``service/users.py``, ``service/agencies.py``,
``service/password_reset.py``), so a role or an agency is refused here with the same words,
listing the valid ones. Every change is an event of the audit trail with the state before and
after (never a password or a link), under the actor ``cli:<login name>``.
"""

from __future__ import annotations

import getpass
import sys
from datetime import timedelta

import click
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from records.audit import Intent, append
from service import password_reset
from service.agencies import Invalid, add_agency, edit_agency, find_agency, registry
from service.agencies import snapshot as agency_state
from service.users import (
    Details,
    add_user,
    disable_user,
    edit_user,
    enable_user,
    seed_demo,
    set_password,
    set_roles,
    snapshot,
)
from storage import UnitOfWork, make_engine, make_session_factory
from storage.models import User
from workflows.clock import SystemClock
from workflows.errors import NotFound
from workflows.roles import ROLES

ROLE_HELP = f"A role (repeat for more): {', '.join(ROLES)}."
AGENCY_HELP = "An agency code of the registry (`safeguard agencies list`)."


def session_factory() -> sessionmaker[Session]:
    return make_session_factory(make_engine())


def audit(uow: UnitOfWork, action: str, detail: dict) -> None:
    """Changes made at the command line are events of the audit trail like any other."""
    actor = f"cli:{getpass.getuser()}"[:80]
    intent = Intent(action=action, actor=actor, remote_addr=None, detail=detail)
    append(uow.session, intent, SystemClock().now())


def _refused(err: Invalid) -> click.ClickException:
    return click.ClickException("\n".join(f"{k}: {v}" for k, v in err.problems.items()))


@click.group()
def users() -> None:
    """People: add, edit, disable and list them; reset links and passwords."""


@users.command("add")
@click.argument("username")
@click.option("--role", "roles", multiple=True, required=True, help=ROLE_HELP)
@click.option("--agency", default=None, help=AGENCY_HELP)
@click.option("--manager", default=None, help="The username of their manager, of the same agency.")
@click.option("--email", default=None, help="Their email address (reminders, reset links).")
@click.option("--name", "display_name", default=None, help="Their name as pages show it.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def users_add(username, roles, agency, manager, email, display_name, password_stdin) -> None:
    """Add a user (asks for the password unless --password-stdin)."""
    password = _new_password(password_stdin)
    details = Details(display_name or username, tuple(roles), agency, manager, email)
    with UnitOfWork(session_factory()) as uow:
        try:
            user = add_user(uow.session, SystemClock(), username, details, password)
        except Invalid as err:
            raise _refused(err) from None
        after = snapshot(uow.session, user)
        audit(uow, "cli.users.add", {"username": username, "before": None, "after": after})
        uow.commit()
    click.echo(f"added {username} ({', '.join(roles)})")


@users.command("edit")
@click.argument("username")
@click.option("--role", "roles", multiple=True, help=ROLE_HELP + " Replaces their roles.")
@click.option("--agency", default=None, help=AGENCY_HELP)
@click.option("--manager", default=None, help="Their manager's username; '' for none.")
@click.option("--email", default=None, help="Their email address; '' for none.")
@click.option("--name", "display_name", default=None, help="Their name as pages show it.")
def users_edit(username, roles, agency, manager, email, display_name) -> None:
    """Change a user's roles, agency, manager, email or name; what is not given stays. New
    roles or a new agency end their sessions and tokens."""
    with UnitOfWork(session_factory()) as uow:
        user = _user(uow, username)
        now = snapshot(uow.session, user)
        details = Details(
            display_name if display_name is not None else now["display_name"],
            tuple(roles) or tuple(now["roles"]),
            agency if agency is not None else now["agency"],
            (manager if manager is not None else now["manager"]) or None,
            (email if email is not None else now["email"]) or None,
        )
        try:
            before, ended = edit_user(uow.session, SystemClock(), user, details)
        except Invalid as err:
            raise _refused(err) from None
        after = snapshot(uow.session, user)
        audit(uow, "cli.users.edit", {"username": username, "before": before, "after": after})
        uow.commit()
    click.echo(f"changed {username} ({ended} sessions and tokens ended)")


@users.command("list")
def users_list() -> None:
    """One line a user: username, roles, agency, manager (disabled ones marked)."""
    with UnitOfWork(session_factory()) as uow:
        for user in uow.session.scalars(select(User).order_by(User.username)):
            state = snapshot(uow.session, user)
            disabled = "" if user.active else " (disabled)"
            click.echo(
                f"{user.username}\t{','.join(state['roles'])}\t{user.agency or '-'}\t"
                f"{state['manager'] or '-'}{disabled}"
            )


def _user(uow: UnitOfWork, username: str) -> User:
    user = uow.session.scalar(select(User).where(User.username == username))
    if user is None:
        raise click.ClickException(f"no user called {username!r}")
    return user


def _new_password(from_stdin: bool) -> str:
    if from_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    if len(password) < 12:
        raise click.ClickException("the password must be at least 12 characters")
    return password


def _change(username: str, action: str, change) -> int:
    """Apply ``change(session, user)`` and audit the user before and after; its result."""
    with UnitOfWork(session_factory()) as uow:
        user = _user(uow, username)
        before = snapshot(uow.session, user)
        try:
            result = change(uow.session, user)
        except Invalid as err:
            raise _refused(err) from None
        after = snapshot(uow.session, user)
        audit(uow, action, {"username": username, "before": before, "after": after})
        uow.commit()
    return result


@users.command("disable")
@click.argument("username")
def users_disable(username: str) -> None:
    """Disable a user: they cannot sign in, and their sessions and tokens end now."""
    ended = _change(
        username, "cli.users.disable", lambda db, user: disable_user(db, SystemClock(), user)
    )
    click.echo(f"disabled {username} ({ended} sessions and tokens ended)")


@users.command("enable")
@click.argument("username")
def users_enable(username: str) -> None:
    """Let a disabled user sign in again."""
    _change(username, "cli.users.enable", lambda db, user: enable_user(user))
    click.echo(f"{username} may sign in again")


@users.command("set-password")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def users_set_password(username: str, password_stdin: bool) -> None:
    """Give a user a new password; their sessions and tokens end now."""
    password = _new_password(password_stdin)
    ended = _change(
        username,
        "cli.users.set_password",
        lambda db, user: set_password(db, SystemClock(), user, password),
    )
    click.echo(f"new password for {username} ({ended} sessions and tokens ended)")


@users.command("set-roles")
@click.argument("username")
@click.option("--role", "roles", multiple=True, required=True, help=ROLE_HELP)
def users_set_roles(username: str, roles: tuple[str, ...]) -> None:
    """Replace a user's roles; their sessions and tokens end now."""
    ended = _change(
        username,
        "cli.users.set_roles",
        lambda db, user: set_roles(db, SystemClock(), user, list(roles)),
    )
    click.echo(f"{username} now has {', '.join(roles)} ({ended} sessions and tokens ended)")


@users.command("reset-link")
@click.argument("username")
@click.option("--url", default=None, help="The service's address (default: BASE_URL).")
def users_reset_link(username: str, url: str | None) -> None:
    """Print a one-time link for the user to choose a new password (PASSWORD_RESET_HOURS)."""
    config = click.get_current_context().find_root().obj
    hours = int(config["PASSWORD_RESET_HOURS"])
    with UnitOfWork(session_factory()) as uow:
        user = _user(uow, username)
        if not user.active:
            raise click.ClickException(f"{username} is disabled: `safeguard users enable` first")
        by = f"cli:{getpass.getuser()}"
        issued = password_reset.issue(uow.session, SystemClock(), user, timedelta(hours=hours), by)
        expires = issued.expires_at.isoformat()
        detail = {"username": username, "reset_link": {"delivery": "copy", "expires_at": expires}}
        audit(uow, "cli.users.reset_link", detail)
        uow.commit()
    base = (url or config["BASE_URL"]).rstrip("/")
    click.echo(f"{base}/reset/{issued.token}")
    click.echo(f"(works once, until {issued.expires_at:%Y-%m-%d %H:%M} UTC)", err=True)


@users.command("seed-demo")
@click.option("--url", default="http://127.0.0.1:5000", help="Where the service will listen.")
def users_seed_demo(url: str) -> None:
    """Create one demo user per role and print their one-time passwords (once)."""
    with UnitOfWork(session_factory()) as uow:
        created = seed_demo(uow.session, SystemClock())
        if created:
            audit(uow, "cli.users.seed_demo", {"usernames": [c[0] for c in created]})
        uow.commit()
    if created:
        click.echo("Demo users (one-time passwords, shown only now):")
        for username, roles, password in created:
            click.echo(f"  {username:<18} {roles:<14} {password}")
    else:
        click.echo("Demo users already exist; their passwords were printed when they were made.")
        click.echo("Lost one? `safeguard users reset-link NAME` prints a link to choose another.")
    click.echo(f"Log in at {url}/login (API: POST {url}/api/auth/token)")


@click.group()
def agencies() -> None:
    """The registry of agencies users belong to: add, rename, retire, restore, list."""


@agencies.command("list")
def agencies_list() -> None:
    """One line an agency: code, name, and whether it is retired."""
    with UnitOfWork(session_factory()) as uow:
        for agency in registry(uow.session):
            retired = "" if agency.active else " (retired)"
            click.echo(f"{agency.code}\t{agency.label}{retired}")


@agencies.command("add")
@click.argument("code")
@click.argument("label")
def agencies_add(code: str, label: str) -> None:
    """Add an agency: CODE (lower-case letters, digits, _; permanent) and its LABEL."""
    with UnitOfWork(session_factory()) as uow:
        try:
            agency = add_agency(uow.session, code, label)
        except Invalid as err:
            raise _refused(err) from None
        after = agency_state(agency)
        audit(uow, "cli.agencies.add", {"agency": code, "before": None, "after": after})
        uow.commit()
    click.echo(f"added {code} ({label})")


def _agency_change(code: str, action: str, **change) -> dict:
    with UnitOfWork(session_factory()) as uow:
        try:
            agency = find_agency(uow.session, code)
            before, after = edit_agency(uow.session, agency, **change)
        except NotFound as err:
            raise click.ClickException(f"{err}; `safeguard agencies list` lists them") from None
        except Invalid as err:
            raise _refused(err) from None
        audit(uow, action, {"agency": code, "before": before, "after": after})
        uow.commit()
    return after


@agencies.command("rename")
@click.argument("code")
@click.argument("label")
def agencies_rename(code: str, label: str) -> None:
    """Give the agency CODE a new LABEL (its code stays)."""
    _agency_change(code, "cli.agencies.rename", label=label)
    click.echo(f"{code} is now called {label}")


@agencies.command("retire")
@click.argument("code")
def agencies_retire(code: str) -> None:
    """Retire an agency: no one new may be put in it (those in it stay until moved)."""
    _agency_change(code, "cli.agencies.retire", active=False)
    click.echo(f"retired {code}")


@agencies.command("restore")
@click.argument("code")
def agencies_restore(code: str) -> None:
    """Make a retired agency available again."""
    _agency_change(code, "cli.agencies.restore", active=True)
    click.echo(f"restored {code}")
