"""Sign in through an identity provider: verified claims become a person here (docs/identity.md).

Who they are: the person linked to the provider's ``sub`` (``external_identity``); on a first
sign-in, the local account named by the provider's username claim, linked from then on, or -
where the provider's ``create_users`` allows it - a new account. A disabled account is refused
however the person proves who they are: the provider vouches for identity, not for access.

What the provider carries (roles, agency, manager) replaces the local record's at every sign-in;
what it does not carry stays as an administrator set it. A change of roles ends the person's
other sessions and tokens, as any change of roles does (``service.users.set_roles``).

Audited like the password sign-in: one event, whose actor is the username the provider vouched
for (or nobody, when nothing could be verified) and whose outcome says why not.
"""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.casework.desk import Desk
from service.identity_providers import Identity, Provider
from service.metrics import count_sign_in
from service.oidc import SsoRefused
from service.users import create_user, set_roles
from storage.models import ExternalIdentity, User
from storage.uow import UnitOfWork

log = logging.getLogger(__name__)

ASK = "Ask your partnership's administrator."


def sign_in_with(
    desk: Desk, unit: UnitOfWork, provider: Provider, claims: dict[str, object]
) -> User:
    """The person ``claims`` (an ID token's, verified) name, updated from them; commits.

    Raises ``SsoRefused`` (after recording the attempt) for a person who may not sign in.
    """
    identity = provider.identity(claims)
    db = unit.session
    try:
        user, link = _person(db, desk, provider, identity)
    except SsoRefused as refused:
        refuse(desk, unit, provider, refused, identity.username)
        raise
    if link is None:
        link = ExternalIdentity(
            user_id=user.id, provider=provider.name, subject=identity.subject, created_at=desk.now()
        )
        db.add(link)
    link.last_sign_in_at = desk.now()
    _update(db, desk, provider, user, identity)
    detail = {"provider": provider.name}
    if identity.dropped:
        detail["roles_dropped"] = list(identity.dropped)
    desk.note(actor=user.username, outcome="ok", detail=detail)
    count_sign_in("ok")
    unit.commit()
    return user


def refuse(
    desk: Desk,
    unit: UnitOfWork,
    provider: Provider,
    refused: SsoRefused,
    actor: str | None = None,
) -> None:
    """Record a refused sign-in through ``provider`` (the audit event, the count)."""
    desk.note(actor=actor, outcome=refused.outcome, detail={"provider": provider.name})
    count_sign_in(refused.outcome)
    unit.commit()


def _person(
    db: Session, desk: Desk, provider: Provider, identity: Identity
) -> tuple[User, ExternalIdentity | None]:
    """The person and their link, or the new person; nothing is changed before every check."""
    link = db.scalar(
        select(ExternalIdentity).where(
            ExternalIdentity.provider == provider.name,
            ExternalIdentity.subject == identity.subject,
        )
    )
    user = db.get(User, link.user_id) if link is not None else _by_username(db, provider, identity)
    if user is not None and not user.active:
        raise SsoRefused("disabled", f"Your account here is disabled. {ASK}")
    if identity.roles is not None and not identity.roles:
        # The provider says which roles people have here, and this person has none.
        raise SsoRefused("no_role", f"{provider.label} gives you no role in this service. {ASK}")
    if user is None:
        if not provider.create_users:
            raise SsoRefused("unknown_user", f"There is no account here for you. {ASK}")
        if identity.roles is None:
            raise SsoRefused("no_role", f"There is no account here for you. {ASK}")
        user = create_user(
            db,
            desk.clock,
            identity.username,
            roles=list(identity.roles),
            display_name=identity.display_name,
            email=identity.email,
            agency=identity.agency,
        )
    return user, link


def _by_username(db: Session, provider: Provider, identity: Identity) -> User | None:
    """A first sign-in: the local account of the provider's username, unless that account is
    already linked to another person of the same provider."""
    if identity.username is None:
        raise SsoRefused(
            "no_username", f"{provider.label} did not say who you are ({provider.username_claim})."
        )
    user = db.scalar(select(User).where(User.username == identity.username))
    if user is None:
        return None
    taken = db.scalar(
        select(ExternalIdentity.id).where(
            ExternalIdentity.user_id == user.id, ExternalIdentity.provider == provider.name
        )
    )
    if taken is not None:
        raise SsoRefused(
            "conflict", f"This account is linked to another {provider.label} identity. {ASK}"
        )
    return user


def _update(db: Session, desk: Desk, provider: Provider, user: User, identity: Identity) -> None:
    """What the provider carries replaces the local record's."""
    if identity.roles is not None and set(identity.roles) != set(user.roles or ()):
        ended = set_roles(db, desk.clock, user, list(identity.roles))
        log.info("%s's roles from %s; %d sessions ended", user.username, provider.name, ended)
    if identity.agency is not None:
        user.agency = identity.agency
    if identity.display_name is not None:
        user.display_name = identity.display_name
    if identity.email is not None:
        user.email = identity.email
    if identity.manager is not None:
        manager = db.scalar(select(User.id).where(User.username == identity.manager))
        if manager is None or manager == user.id:
            log.warning("%s names manager %r: nobody here", provider.name, identity.manager)
        else:
            user.manager_id = manager
