"""The protocol's timescales (issue 15, points 4, 8, 9, 13), one row per rule.

Each row: the rule, the steps walked (with :class:`Wait` moving the clock between them), when
the walk starts, the task, and its due time written out as a person would count it on a
calendar — never recomputed here with ``tasks/calendar.py``. Times are UTC; the close of a
working day is 17:00 Europe/London: 17:00 UTC in winter, 16:00 UTC in British Summer Time
(29 Mar – 25 Oct 2026, from 28 Mar 2027). Bank holidays in the spans: Fri 25 Dec 2026,
Mon 28 Dec 2026 (Boxing Day, a Saturday, moved), Fri 1 Jan 2027, Good Friday 26 Mar 2027,
Easter Monday 29 Mar 2027.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from tests.diagrams.answers_information_sharing import HARM, NO_HARM, REQUEST
from tests.diagrams.test_early_help_caf import ASSESSED, EXPLAINED, GIVEN
from tests.diagrams.test_referral import NEGLECT, assessed, decide
from tests.diagrams.walking import Do, Message, Timer, Wait, Walker


def moment(text: str) -> datetime:
    """``"Wed 2 Dec 2026 11:00"`` (UTC); the day's name must be the date's, to catch slips."""
    when = datetime.strptime(text, "%a %d %b %Y %H:%M").replace(tzinfo=UTC)
    assert when.strftime("%a") == text[:3], f"{text}: that day is a {when:%A}"
    return when


def said(when: datetime) -> str:
    """``when`` written as the rows write it, in UTC."""
    when = when.astimezone(UTC)
    return f"{when:%a} {when.day} {when:%b %Y %H:%M}"


@dataclass(frozen=True)
class Row:
    rule: str
    process: str
    steps: list[Do | Timer | Message | Wait]
    start: str  # when the walk starts (UTC)
    task: str  # the user task waiting at the end of the steps
    due: str  # its due time (UTC), counted by hand


NOT_URGENT = {**REQUEST, "urgent": False}
CONSENT = Do("seek_consent", {"consent_outcome": "given", "views_of_child_or_family": "Agrees"})
REFUSED = Do("seek_consent", {"consent_outcome": "refused"})
REFERRED = Do("make_referral", NEGLECT)

ROWS = [
    # -- point 4: share the information the same working day, or in 2 working days --
    Row(
        "significant harm, not urgent: the same working day",
        "information_sharing",
        [Do("describe_request", NOT_URGENT), Do("safeguarding_check", HARM), REFUSED],
        start="Thu 24 Dec 2026 10:00",
        task="share_information",
        due="Thu 24 Dec 2026 17:00",  # 17:00 GMT that day
    ),
    Row(
        "urgent, no significant harm: the same working day",
        "information_sharing",
        [Do("describe_request", REQUEST), Do("safeguarding_check", NO_HARM), CONSENT],
        start="Thu 24 Dec 2026 10:00",
        task="share_information",
        due="Thu 24 Dec 2026 17:00",
    ),
    Row(
        "urgent, answered after the close of day: the next working day (summer time)",
        "information_sharing",
        [Do("describe_request", REQUEST), Do("safeguarding_check", NO_HARM), CONSENT],
        start="Fri 12 Jun 2026 16:30",  # 17:30 BST, after the close: Sat, Sun closed
        task="share_information",
        due="Mon 15 Jun 2026 16:00",  # 17:00 BST
    ),
    Row(
        "neither harm nor urgent: 2 working days",
        "information_sharing",
        [Do("describe_request", NOT_URGENT), Do("safeguarding_check", NO_HARM), CONSENT],
        start="Thu 24 Dec 2026 10:00",
        task="share_information",
        # Fri 25 and Mon 28 Dec bank holidays, Sat 26 and Sun 27 closed: Tue 29 (1), Wed 30 (2)
        due="Wed 30 Dec 2026 17:00",
    ),
    Row(
        "not confidential, not urgent, no harm (the safeguarding check is asked): 2 working days",
        "information_sharing",
        [
            Do("describe_request", {**NOT_URGENT, "confidential": False}),
            Do("safeguarding_check", NO_HARM),
        ],
        start="Tue 1 Dec 2026 10:00",
        task="share_information",
        due="Thu 3 Dec 2026 17:00",  # Wed 2 (1), Thu 3 (2)
    ),
    # -- point 8: the MASH rating sets when the strategy discussion is due --
    # Decided Thu 25 Mar 2027 15:00 GMT, the day before Good Friday. Then Fri 26 (Good Friday),
    # Sat 27, Sun 28 (clocks go forward), Mon 29 (Easter Monday) are closed: the next working
    # day is Tue 30 Mar, in BST (17:00 BST = 16:00 UTC).
    Row(
        "MASH red: 4 working hours",
        "referral",
        [REFERRED, decide("strategy_discussion", "red")],
        start="Thu 25 Mar 2027 15:00",
        task="strategy_discussion",
        # 15:00-17:00 Thursday is 2 hours; 2 more from 09:00 BST Tue 30 Mar: 11:00 BST
        due="Tue 30 Mar 2027 10:00",
    ),
    Row(
        "MASH amber: 1 working day",
        "referral",
        [REFERRED, decide("strategy_discussion", "amber")],
        start="Thu 25 Mar 2027 15:00",
        task="strategy_discussion",
        due="Tue 30 Mar 2027 16:00",  # Tue 30 (1)
    ),
    Row(
        "MASH green: 3 working days",
        "referral",
        [REFERRED, decide("strategy_discussion", "green")],
        start="Thu 25 Mar 2027 15:00",
        task="strategy_discussion",
        due="Thu 1 Apr 2027 16:00",  # Tue 30 Mar (1), Wed 31 (2), Thu 1 Apr (3)
    ),
    Row(
        "MASH blue: 1 working day",
        "referral",
        [REFERRED, decide("strategy_discussion", "blue")],
        start="Thu 25 Mar 2027 15:00",
        task="strategy_discussion",
        due="Tue 30 Mar 2027 16:00",
    ),
    Row(
        "strategy discussion after an assessment: 1 working day, whatever the rating",
        "referral",
        [REFERRED, decide("assessment", "red"), assessed("strategy_discussion")],
        start="Thu 25 Mar 2027 15:00",
        task="strategy_discussion",
        due="Tue 30 Mar 2027 16:00",
    ),
    # -- point 9: the assessment is due 45 working days after the referral --
    Row(
        "assessment: 45 working days from the referral, decided a week late",
        "referral",
        [REFERRED, Wait(moment("Wed 9 Dec 2026 14:00")), decide("assessment", "green")],
        start="Wed 2 Dec 2026 11:00",
        task="complete_assessment",
        # From Wed 2 Dec 2026: Dec Thu 3 (1), Fri 4 (2), 7-11 (3-7), 14-18 (8-12), 21-24 (13-16),
        # [25, 28 bank holidays], Tue 29 (17), Wed 30 (18), Thu 31 (19), [Fri 1 Jan holiday],
        # Jan 4-8 (20-24), 11-15 (25-29), 18-22 (30-34), 25-29 (35-39), Feb 1-5 (40-44),
        # Mon 8 Feb (45). (From the decision it would have been Mon 15 Feb.)
        due="Mon 8 Feb 2027 17:00",
    ),
    # -- point 13: the Team Around the Family 15 working days after consent --
    Row(
        "team around the family: 15 working days from consent, over Christmas",
        "early_help_caf",
        [
            EXPLAINED,
            Wait(moment("Fri 18 Dec 2026 14:00")),
            GIVEN,
            Wait(moment("Wed 6 Jan 2027 11:00")),
            ASSESSED,
        ],
        start="Mon 14 Dec 2026 10:00",
        task="team_around_family",
        # From Fri 18 Dec 2026: Mon 21 (1), Tue 22 (2), Wed 23 (3), Thu 24 (4), [Fri 25, Mon 28
        # holidays], Tue 29 (5), Wed 30 (6), Thu 31 (7), [Fri 1 Jan holiday], Mon 4 (8),
        # Tue 5 (9), Wed 6 (10), Thu 7 (11), Fri 8 (12), Mon 11 (13), Tue 12 (14), Wed 13 (15).
        due="Wed 13 Jan 2027 17:00",
    ),
]


@pytest.mark.parametrize("row", ROWS, ids=[row.rule for row in ROWS])
def test_timescale(row: Row):
    walker = Walker(row.process, start=moment(row.start)).walk(row.steps)
    assert row.task in walker.waiting()
    assert said(walker.task_due(row.task)) == row.due
