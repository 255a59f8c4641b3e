"""What a deployer may ask a diagram to do: the rules the validator applies besides BPMN itself.

A diagram is written and deployed in the browser by a process owner, so nothing it says may grant
access to data (who is given a task) or hold a worker (timers that fire too often, too long or
forever). The service decides the rules (``service.context.deploy_rules``) and hands them to the
engine; ``workflows`` knows no users, only the role names it is told may be given work.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from workflows.roles import CASEWORK_ROLES

# The casework roles (workflows/roles.py) are the only ones a user task may be offered to. Used
# when a caller gives no rules of its own, so forgetting to pass them refuses more, never less.
__all__ = ["AGENCIES", "CASEWORK_ROLES", "DeployRules", "TimerBounds", "rules_of"]
# The agency vocabulary: users' ``agency`` and the enum options of a field a user task may name
# as its second agency (``other_agency_from``, workflows/grants.py). The same ids as
# information_sharing's ``recipient_agency`` and records/vocabulary.AGENCIES.
AGENCIES = frozenset(
    {"police", "health", "school", "childrens_social_care", "early_help", "voluntary", "other"}
)


@dataclass(frozen=True)
class TimerBounds:
    """How often and how far ahead a diagram's timers may fire."""

    shortest: timedelta = timedelta(minutes=1)  # a duration or an ISO due time
    longest_years: int = 10  # durations, cycle intervals, dates from the deploy time
    most_repetitions: int = 1000  # R<n>/…
    closest_repetitions: timedelta = timedelta(hours=1)  # the interval of a cycle


@dataclass(frozen=True)
class DeployRules:
    """The rules of a deploy. ``conventions``: also refuse a user task without a role, a form or
    a due time (the service's house rules; small test diagrams leave them out)."""

    conventions: bool = False
    task_roles: frozenset[str] = CASEWORK_ROLES
    agencies: frozenset[str] = AGENCIES
    timers: TimerBounds = field(default_factory=TimerBounds)

    def __bool__(self) -> bool:  # stands where a plain ``conventions`` flag used to
        return self.conventions


def rules_of(conventions: bool | DeployRules) -> DeployRules:
    """``validate(conventions=True)`` as before, or the full rules (what the service passes)."""
    if isinstance(conventions, DeployRules):
        return conventions
    return DeployRules(conventions=bool(conventions))
