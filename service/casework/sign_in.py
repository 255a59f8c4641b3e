"""Sign in: check a password under the throttle, for the token API and the login form alike.

Failed attempts must count even though the sign-in fails, so this commits the unit of work
before it raises the refusal (401 or 429) - the one use case that commits itself.
"""

from __future__ import annotations

from service.auth import ThrottlePolicy, check_login
from service.casework.desk import Desk
from storage.models import User
from storage.uow import UnitOfWork


def sign_in(desk: Desk, unit: UnitOfWork, username: str, password: str) -> User:
    """The person ``username`` names if ``password`` is theirs; ``LoginRefused`` otherwise."""
    user, refused = check_login(
        unit.session, desk.clock, username, password, ThrottlePolicy.from_config(desk.config)
    )
    desk.note(actor=username[:80], outcome="ok" if refused is None else refused.code)
    unit.commit()
    if refused is not None:
        raise refused
    return user
