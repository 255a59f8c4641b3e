"""Sign in: check a password under the throttle, for the token API and the login form alike.

Failed attempts must count even though the sign-in fails, so this commits the unit of work
before it raises the refusal (401 or 429) - the one use case that commits itself.

What a failed attempt leaves: a count in the metrics by outcome, and an audit event whose actor
is the name typed cut to ``CLAIMED_LENGTH`` characters, control characters replaced, with
``"unverified": true`` in its detail: an auditor still finds the attempts on a person's name,
and never mistakes the attacker's text for someone who signed in.
"""

from __future__ import annotations

import re

from service.auth import check_login
from service.casework.desk import Desk
from service.metrics import count_sign_in
from service.throttle import ThrottlePolicy
from storage.models import User
from storage.uow import UnitOfWork

CLAIMED_LENGTH = 32
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def claimed(username: str) -> str:
    """The typed name as the trail may keep it: short and printable."""
    return CONTROL.sub("?", username[:CLAIMED_LENGTH])


def sign_in(desk: Desk, unit: UnitOfWork, username: str, password: str, address: str) -> User:
    """The person ``username`` names if ``password`` is theirs; ``LoginRefused`` otherwise.

    ``address`` is the client's (the throttle counts per address, and per address and name).
    """
    policy = ThrottlePolicy.from_config(desk.config)
    user, refused = check_login(unit.session, desk.clock, username, password, policy, address)
    if refused is None:
        desk.note(actor=user.username, outcome="ok")
    else:
        desk.note(actor=claimed(username), outcome=refused.code, detail={"unverified": True})
    count_sign_in("ok" if refused is None else refused.code)
    unit.commit()
    if refused is not None:
        raise refused
    return user
