"""Every path of ``information_sharing``: the end reached, the register entries, the referral.

Read as a safeguarding lead would: each row is a request, the answers given at each step, and
what must follow — shared or not, with or without consent, on which lawful basis, whether a
referral to children's social care starts, and whether telling the family is recorded as an
entry linked to the decision (``follows``: the number of the entry it adds to).
"""

from __future__ import annotations

import pytest

from tests.diagrams.answers_information_sharing import (
    CSE_16,
    DPA,
    HARM,
    NO_HARM,
    NOT_CONFIDENTIAL,
    NOT_TOLD,
    OWN_BASIS,
    REQUEST,
    SAME_AGE_PEERS,
    SEXUAL_ACTIVITY_14,
    SLEEPING_WITH_BOYFRIEND,
    TOLD,
    TOLD_ENTRY,
    assess,
    share,
)
from tests.diagrams.walking import Do, Path, Refused, walk

PATHS = [
    # -- purpose, confidentiality, consent ---------------------------------------------------
    Path(
        "no legitimate purpose: not shared",
        [Do("describe_request", {**REQUEST, "legitimate_purpose": "no"})],
        ends={"end_not_shared"},
        entries=[{"decision": "not_share", "with_consent": False, "lawful_basis": None}],
    ),
    Path(
        "not confidential, no safeguarding concern: safeguarding check still asked, shared",
        [
            Do("describe_request", NOT_CONFIDENTIAL),
            Do("safeguarding_check", NO_HARM),
            share(),
            TOLD,
        ],
        ends={"end_shared"},
        entries=[
            {
                "decision": "share",
                "with_consent": False,
                "lawful_basis": "Not confidential personal information",
                "recipients": [
                    {"agency": "childrens_social_care", "person": "MASH duty social worker"}
                ],
                "follows": None,
            },
            TOLD_ENTRY,
        ],
    ),
    Path(
        "not confidential but significant harm: safeguarding check asked and referral started",
        [Do("describe_request", NOT_CONFIDENTIAL), Do("safeguarding_check", HARM), share(), TOLD],
        ends={"end_shared"},
        entries=[
            {
                "decision": "share",
                "reasons": (
                    "A safeguarding share; the information is not confidential: "
                    "Protect the child from harm"
                ),
            },
            TOLD_ENTRY,
        ],
        thrown=["start_referral"],
    ),
    Path(
        "consent given: shared with consent, no referral",
        [
            Do("describe_request", REQUEST),
            Do("safeguarding_check", NO_HARM),
            Do("seek_consent", {"consent_outcome": "given", "views_of_child_or_family": "Agrees"}),
            share(),
            TOLD,
        ],
        ends={"end_shared"},
        entries=[
            {
                "decision": "share",
                "with_consent": True,
                "consent_status": "given",
                "lawful_basis": "Informed consent",
                "views_of_child_or_family": "Agrees",
                "method": "secure_portal",
            },
            {**TOLD_ENTRY, "consent_status": "given", "information_shared": None},
        ],
    ),
    Path(
        "consent refused, significant harm: shared without consent on the practitioner's basis",
        [
            Do("describe_request", REQUEST),
            Do("safeguarding_check", HARM),
            Do("seek_consent", {"consent_outcome": "refused"}),
            share(OWN_BASIS),
            TOLD,
        ],
        ends={"end_shared"},
        entries=[
            {
                "decision": "share",
                "with_consent": False,
                "consent_status": "refused",
                "lawful_basis": OWN_BASIS,
                "consent_override_reason": (
                    "Consent refused; shared without consent as a safeguarding share"
                ),
            },
            {**TOLD_ENTRY, "lawful_basis": OWN_BASIS, "with_consent": False},
        ],
        thrown=["start_referral"],
    ),
    Path(
        "consent not obtained, no safeguarding grounds: refusal respected",
        [
            Do("describe_request", REQUEST),
            Do("safeguarding_check", NO_HARM),
            Do("seek_consent", {"consent_outcome": "not_obtained"}),
        ],
        ends={"end_not_shared"},
        entries=[{"decision": "not_share", "consent_status": "not_obtained"}],
    ),
    Path(
        "consent withdrawn on record, significant harm: shared without consent",
        [Do("describe_request", REQUEST), Do("safeguarding_check", HARM), share(DPA), TOLD],
        ends={"end_shared"},
        entries=[
            {
                "decision": "share",
                "with_consent": False,
                "consent_status": "withdrawn",
                "lawful_basis": DPA,
            },
            TOLD_ENTRY,
        ],
        thrown=["start_referral"],
        variables={"consent_on_record": "withdrawn"},
    ),
    Path(
        "consent withdrawn on record, no safeguarding grounds: not shared",
        [Do("describe_request", REQUEST), Do("safeguarding_check", NO_HARM)],
        ends={"end_not_shared"},
        entries=[
            {
                "decision": "not_share",
                "consent_status": "withdrawn",
                "reasons": (
                    "Consent withdrawn and not a safeguarding share: the refusal is respected"
                ),
            }
        ],
        variables={"consent_on_record": "withdrawn"},
    ),
    # -- advice ------------------------------------------------------------------------------
    Path(
        "in doubt, advised to share; seeking consent unsafe; family not told, and why",
        [
            Do("describe_request", REQUEST),
            Do(
                "safeguarding_check",
                {
                    **NO_HARM,
                    "prevent_serious_crime": True,
                    "in_doubt": True,
                    "consent_unsafe": True,
                    "consent_unsafe_reason": "Would alert the suspect",
                },
            ),
            Do("give_advice", {"advice": "Share with the police today", "advice_outcome": "share"}),
            share(DPA),
            NOT_TOLD,
        ],
        ends={"end_shared"},
        entries=[
            {
                "decision": "share",
                "with_consent": False,
                "consent_status": "not_sought",
                "consent_override_reason": "Would alert the suspect",
                "lawful_basis": DPA,
                "advice_sought_from": "dsl-on-duty",
                "subject_informed": None,
            },
            {
                "follows": 1,
                "subject_informed": False,
                "not_informed_reason": "Telling them would put the child at risk",
                "consent_status": "not_sought",
            },
        ],
    ),
    Path(
        "purpose unsure, advised not to share",
        [
            Do("describe_request", {**REQUEST, "legitimate_purpose": "unsure"}),
            Do("safeguarding_check", NO_HARM),
            Do(
                "give_advice",
                {"advice": "The aim can be met without it", "advice_outcome": "do_not_share"},
            ),
        ],
        ends={"end_not_shared"},
        entries=[
            {
                "decision": "not_share",
                "reasons": "Advised not to share: The aim can be met without it",
            }
        ],
    ),
    Path(
        "significant harm, in doubt: 'do not share' refused; the adviser's view and conditions "
        "recorded, and the share and referral still happen",
        [
            Do("describe_request", REQUEST),
            Do("safeguarding_check", {**HARM, "in_doubt": True}),
            Refused(
                "give_advice",
                {"advice": "Keep it in school for now", "advice_outcome": "do_not_share"},
                ("advice_outcome",),
            ),
            Do(
                "give_advice",
                {
                    "advice": "Worried about escalating at home, but it must go to the MASH",
                    "advice_outcome": "share",
                    "advice_conditions": "Share the account of the bruising only, not her file",
                },
            ),
            Do("seek_consent", {"consent_outcome": "refused"}),
            share(OWN_BASIS),
            TOLD,
        ],
        ends={"end_shared"},
        entries=[
            {
                "decision": "share",
                "with_consent": False,
                "lawful_basis": OWN_BASIS,
                "advice_sought_from": "dsl-on-duty",
                "reasons": (
                    "Consent refused; shared without consent as a safeguarding share"
                    ". Advice (share): Worried about escalating at home, but it must go to the MASH"
                    ". Conditions: Share the account of the bruising only, not her file"
                ),
            },
            TOLD_ENTRY,
        ],
        thrown=["start_referral"],
    ),
    Path(
        "in doubt, advised to refer: referral started, then consent given",
        [
            Do("describe_request", REQUEST),
            Do("safeguarding_check", {**NO_HARM, "in_doubt": True}),
            Do("give_advice", {"advice": "Refer to the MASH", "advice_outcome": "refer"}),
            Do("seek_consent", {"consent_outcome": "given"}),
            share(),
            TOLD,
        ],
        ends={"end_shared"},
        entries=[{"decision": "share", "with_consent": True}, TOLD_ENTRY],
        thrown=["start_referral"],
    ),
    # -- sexual activity of a child under 16 (protocol 4.2) ----------------------------------
    Path(
        "14-year-old, sexual activity, DSL: share and refer -> referral, shared without consent",
        [
            Do("describe_request", {**REQUEST, "information": SLEEPING_WITH_BOYFRIEND}),
            Do(
                "safeguarding_check",
                {
                    **SEXUAL_ACTIVITY_14,
                    "consent_unsafe": True,
                    "consent_unsafe_reason": "Her boyfriend is 19 and lives with the family",
                },
            ),
            assess("share_and_refer", "Partner is 19; she is 14: a significant age imbalance"),
            share(OWN_BASIS),
            TOLD,
        ],
        ends={"end_shared"},
        entries=[
            {
                "decision": "share",
                "with_consent": False,
                "lawful_basis": OWN_BASIS,
                "reasons": (
                    "Shared without seeking consent: seeking it would place the child at risk "
                    "or undermine a criminal investigation. DSL assessment of the sexual activity "
                    "(share and refer): Partner is 19; she is 14: a significant age imbalance"
                ),
            },
            TOLD_ENTRY,
        ],
        thrown=["start_referral"],
    ),
    Path(
        "15-year-old, sexual activity, DSL: share -> shared without consent, no referral",
        [
            Do("describe_request", REQUEST),
            Do("safeguarding_check", {**SEXUAL_ACTIVITY_14, "child_age": 15}),
            assess("share", "Older partner (17); the school nurse and GP should know"),
            Do("seek_consent", {"consent_outcome": "refused"}),
            share(OWN_BASIS),
            TOLD,
        ],
        ends={"end_shared"},
        entries=[
            {"decision": "share", "with_consent": False, "lawful_basis": OWN_BASIS},
            TOLD_ENTRY,
        ],
    ),
    Path(
        "14-year-old, sexual activity, DSL: no further action -> an ordinary request "
        "(consent not obtained: not shared)",
        [
            Do("describe_request", REQUEST),
            Do("safeguarding_check", SEXUAL_ACTIVITY_14),
            Refused(
                "assess_sexual_activity",
                {
                    **SAME_AGE_PEERS,
                    "coercion": True,
                    "assessment_outcome": "no_further_action",
                    "reasons": "Same age",
                },
                ("assessment_outcome",),
            ),
            assess("no_further_action", "Same-age peer, consensual, no concerns", SAME_AGE_PEERS),
            Do("seek_consent", {"consent_outcome": "not_obtained"}),
        ],
        ends={"end_not_shared"},
        entries=[
            {
                "decision": "not_share",
                "reasons": (
                    "Consent not obtained and not a safeguarding share: the refusal is respected"
                    ". DSL assessment of the sexual activity (no further action): "
                    "Same-age peer, consensual, no concerns"
                ),
            }
        ],
    ),
    Path(
        "12-year-old, sexual activity: automatic referral, no DSL assessment",
        [
            Do("describe_request", REQUEST),
            Refused("safeguarding_check", {**SEXUAL_ACTIVITY_14, "child_age": 18}, ("child_age",)),
            Do("safeguarding_check", {**SEXUAL_ACTIVITY_14, "child_age": 12}),
            Do("seek_consent", {"consent_outcome": "refused"}),
            share(OWN_BASIS),
            TOLD,
        ],
        ends={"end_shared"},
        entries=[{"decision": "share", "with_consent": False}, TOLD_ENTRY],
        thrown=["start_referral"],
    ),
    # -- child sexual exploitation -----------------------------------------------------------
    Path(
        "16-year-old, CSE, partner details given: referral with them, shared without consent",
        [
            Do("describe_request", REQUEST),
            Refused(
                "safeguarding_check",
                {**CSE_16, "partner_details": None},
                ("partner_details",),
            ),
            Do("safeguarding_check", CSE_16),
            share(OWN_BASIS, partner_details=CSE_16["partner_details"]),
            NOT_TOLD,
        ],
        ends={"end_shared"},
        entries=[
            {"decision": "share", "with_consent": False, "consent_status": "not_sought"},
            {"follows": 1, "subject_informed": False},
        ],
        thrown=["start_referral"],
    ),
]


@pytest.mark.parametrize("path", PATHS, ids=[p.id for p in PATHS])
def test_path(path: Path):
    walk("information_sharing", path)


def path_named(words: str) -> Path:
    """The row whose description starts with ``words`` (rows are found by name, not position)."""
    return next(p for p in PATHS if p.id.startswith(words))
