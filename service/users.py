"""People who use the service: creating them, changing what signs them in, seeding the demos.

Disabling someone, or changing their password, roles or agency, ends every session and token they
have (``service.sessions.end_everything``) in the same transaction: whatever they were signed in
with was granted to the person they were before the change. Every path that makes such a
change (the command line, the administration pages, a reset link) goes through these functions,
so each refuses the same things with the same words: a role not in ``workflows/roles.py`` or an
agency not in the registry (``service/agencies.py``) is an error listing the valid ones.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.access import ROLES
from service.agencies import Invalid, check_agency
from service.auth import hash_password
from service.sessions import end_everything
from storage.models import User
from workflows.clock import Clock

USERNAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,79}")
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
PASSWORD_LENGTH = (12, 1000)
NAME_LENGTH = 200
EMAIL_LENGTH = 320


def create_user(
    session: Session,
    clock: Clock,
    username: str,
    *,
    roles: list[str],
    password: str | None = None,
    display_name: str | None = None,
    agency: str | None = None,
    email: str | None = None,
    manager: str | None = None,
) -> User:
    """A new active user. Roles and agency are checked; a manager must exist (any agency:
    :func:`check_details` holds administrators to the user's own agency)."""
    check_roles(roles)
    if not USERNAME.fullmatch(username):
        raise Invalid({"username": "a username is 1 to 80 letters, digits, '.', '_', '@' or '-'"})
    if agency is not None:
        check_agency(session, agency)
    if session.scalar(select(User.id).where(User.username == username)):
        raise Invalid({"username": f"a user called {username!r} already exists"})
    manager_id = None
    if manager:
        manager_id = session.scalar(select(User.id).where(User.username == manager))
        if manager_id is None:
            raise Invalid({"manager": f"no manager called {manager!r}"})
    user = User(
        username=username,
        display_name=display_name or username,
        roles=list(roles),
        agency=agency,
        email=email,
        manager_id=manager_id,
        password_hash=hash_password(password) if password else None,
        active=True,
        created_at=clock.now(),
    )
    session.add(user)
    session.flush()
    return user


def check_roles(roles: list[str] | tuple[str, ...]) -> None:
    """Refuse no role, or a role the service does not have, listing the roles it has."""
    unknown = set(roles) - set(ROLES)
    if unknown:
        raise Invalid(
            {
                "roles": f"unknown role(s): {', '.join(sorted(unknown))}; "
                f"the roles are: {', '.join(ROLES)}"
            }
        )
    if not roles:
        raise Invalid({"roles": f"choose at least one role of: {', '.join(ROLES)}"})


def check_password(password: str) -> None:
    low, high = PASSWORD_LENGTH
    if not low <= len(password) <= high:
        raise Invalid({"password": f"the password must be {low} to {high} characters"})


@dataclass(frozen=True)
class Details:
    """What an administrator sets about a person (the username is fixed once made)."""

    display_name: str
    roles: tuple[str, ...]
    agency: str | None
    manager: str | None  # a username
    email: str | None


def check_details(session: Session, details: Details, username: str | None = None) -> None:
    """Every rule of an administrator's change, all problems at once: roles of the service,
    an agency of the registry, a manager who is an active user of that agency (not oneself),
    a plausible email address."""
    problems: dict[str, str] = {}
    for check in (
        lambda: check_roles(details.roles),
        lambda: details.agency is None or check_agency(session, details.agency),
    ):
        try:
            check()
        except Invalid as err:
            problems.update(err.problems)
    if not details.display_name.strip() or len(details.display_name) > NAME_LENGTH:
        problems["display_name"] = f"the name must be 1 to {NAME_LENGTH} characters"
    if details.email and (len(details.email) > EMAIL_LENGTH or not EMAIL.fullmatch(details.email)):
        problems["email"] = f"{details.email[:80]!r} is not an email address"
    if details.manager:
        manager = session.scalar(
            select(User).where(User.username == details.manager, User.active.is_(True))
        )
        if manager is None or manager.username == username:
            problems["manager"] = f"no active user called {details.manager[:80]!r} can manage them"
        elif manager.agency != details.agency:
            problems["manager"] = (
                f"{manager.username} is not of the agency {details.agency}: "
                "a manager is someone of the same agency"
            )
    if problems:
        raise Invalid(problems)


def snapshot(session: Session, user: User) -> dict:
    """What the audit trail records of a user before and after a change (never a password)."""
    manager = session.get(User, user.manager_id) if user.manager_id else None
    return {
        "username": user.username,
        "display_name": user.display_name,
        "roles": sorted(user.roles or ()),
        "agency": user.agency,
        "manager": manager.username if manager else None,
        "email": user.email,
        "active": user.active,
    }


def fingerprint(state: dict) -> str:
    """A short digest of a user's state: an edit form carries the one it was drawn from, and a
    change made meanwhile by someone else is refused (409) instead of overwritten."""
    canonical = json.dumps(state, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def add_user(
    session: Session, clock: Clock, username: str, details: Details, password: str | None
) -> User:
    """An administrator's new user, held to :func:`check_details`."""
    check_details(session, details, username)
    if password is not None:
        check_password(password)
    return create_user(
        session,
        clock,
        username,
        roles=list(details.roles),
        password=password,
        display_name=details.display_name,
        agency=details.agency,
        email=details.email or None,
        manager=details.manager or None,
    )


def edit_user(session: Session, clock: Clock, user: User, details: Details) -> tuple[dict, int]:
    """Change what an administrator may change; returns the state before and how many sessions
    and tokens ended (new roles or a new agency change what the person may see)."""
    check_details(session, details, user.username)
    before = snapshot(session, user)
    manager_id = None
    if details.manager:
        manager_id = session.scalar(select(User.id).where(User.username == details.manager))
    user.display_name = details.display_name.strip()
    user.email = details.email or None
    user.manager_id = manager_id
    ended = 0
    if sorted(details.roles) != before["roles"]:
        ended = set_roles(session, clock, user, list(details.roles))
    if details.agency != before["agency"]:
        user.agency = details.agency
        ended += end_everything(session, user.id, clock.now(), "agency changed")
    session.flush()
    return before, ended


def disable_user(session: Session, clock: Clock, user: User) -> int:
    """Disable ``user``; their sessions and tokens end now. Returns how many were live."""
    user.active = False
    return end_everything(session, user.id, clock.now(), "account disabled")


def enable_user(user: User) -> None:
    """Let ``user`` sign in again (with their password, or a reset link)."""
    user.active = True


def set_password(session: Session, clock: Clock, user: User, password: str) -> int:
    """Give ``user`` a new password; every session and token of theirs ends."""
    check_password(password)
    user.password_hash = hash_password(password)
    return end_everything(session, user.id, clock.now(), "password changed")


def set_roles(session: Session, clock: Clock, user: User, roles: list[str]) -> int:
    """Give ``user`` these roles instead of theirs; every session and token of theirs ends."""
    check_roles(roles)
    user.roles = list(roles)
    return end_everything(session, user.id, clock.now(), "roles changed")


@dataclass(frozen=True)
class DemoUser:
    username: str
    display_name: str
    roles: tuple[str, ...]
    agency: str
    manager: str | None = None


DEMO_USERS = (
    DemoUser("maya.manager", "Maya Patel (school safeguarding manager)", ("manager",), "school"),
    DemoUser(
        "pat.practitioner", "Pat Jones (teacher)", ("practitioner",), "school", "maya.manager"
    ),
    DemoUser("dan.dsl", "Dan Okafor (designated safeguarding lead)", ("dsl",), "school"),
    DemoUser("colin.csc", "Colin Reid (MASH social worker)", ("csc",), "childrens_social_care"),
    DemoUser(
        "cara.cscmanager",
        "Cara Lewis (MASH team manager)",
        ("csc_manager",),
        "childrens_social_care",
    ),
    DemoUser("olive.owner", "Olive Grant (process owner)", ("process_owner",), "partnership"),
    DemoUser("bea.board", "Bea Stone (partnership business unit)", ("board",), "partnership"),
    DemoUser(
        "dee.auditor",
        "Dee Marsh (partnership data protection officer)",
        ("auditor",),
        "partnership",
    ),
    DemoUser("ada.admin", "Ada Brown (administrator)", ("admin",), "partnership"),
)


def seed_demo(session: Session, clock: Clock) -> list[tuple[str, str, str]]:
    """Create missing demo users; returns (username, roles, one-time password) of new ones."""
    created = []
    for demo in DEMO_USERS:
        if session.scalar(select(User.id).where(User.username == demo.username)):
            continue
        password = secrets.token_urlsafe(12)
        create_user(
            session,
            clock,
            demo.username,
            roles=list(demo.roles),
            password=password,
            display_name=demo.display_name,
            agency=demo.agency,
            manager=demo.manager,
        )
        created.append((demo.username, ",".join(demo.roles), password))
    return created
