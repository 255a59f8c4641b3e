"""People who use the service: creating them, changing what signs them in, seeding the demos.

Disabling someone, or changing their password or roles, ends every session and token they have
(``service.sessions.end_everything``) in the same transaction: whatever they were signed in
with was granted to the person they were before the change. Every path that makes such a
change (the command line today, the administration pages later) goes through these functions.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.access import ROLES
from service.auth import hash_password
from service.sessions import end_everything
from storage.models import User
from workflows.clock import Clock


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
    _check_roles(roles)
    if session.scalar(select(User.id).where(User.username == username)):
        raise ValueError(f"a user called {username!r} already exists")
    manager_id = None
    if manager:
        manager_id = session.scalar(select(User.id).where(User.username == manager))
        if manager_id is None:
            raise ValueError(f"no manager called {manager!r}")
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


def _check_roles(roles: list[str]) -> None:
    unknown = set(roles) - set(ROLES)
    if unknown:
        raise ValueError(f"unknown role(s): {', '.join(sorted(unknown))}")


def disable_user(session: Session, clock: Clock, user: User) -> int:
    """Disable ``user``; their sessions and tokens end now. Returns how many were live."""
    user.active = False
    return end_everything(session, user.id, clock.now(), "account disabled")


def set_password(session: Session, clock: Clock, user: User, password: str) -> int:
    """Give ``user`` a new password; every session and token of theirs ends."""
    user.password_hash = hash_password(password)
    return end_everything(session, user.id, clock.now(), "password changed")


def set_roles(session: Session, clock: Clock, user: User, roles: list[str]) -> int:
    """Give ``user`` these roles instead of theirs; every session and token of theirs ends."""
    _check_roles(roles)
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
