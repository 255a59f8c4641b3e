"""The answers a practitioner, a DSL and an adviser give in ``information_sharing``, shared by
its path table (``test_information_sharing.py``) and the timescales table.

Realistic on purpose: a safeguarding lead should recognise each one.
"""

from __future__ import annotations

from tests.diagrams.walking import Do

REQUEST = {
    "information": "Bruising seen at school; the child said her stepfather hits her",
    "recipient_agency": "childrens_social_care",
    "recipient_person": "MASH duty social worker",
    "purpose": "Protect the child from harm",
    "urgent": True,
    "legitimate_purpose": "yes",
    "identifies_living_person": True,
    "confidential": True,
}
NOT_CONFIDENTIAL = {**REQUEST, "confidential": False}
HARM = {
    "significant_harm": True,
    "prevent_serious_crime": False,
    "cse_concern": False,
    "child_age": 9,
    "sexual_activity": False,
    "consent_unsafe": False,
    "in_doubt": False,
}
NO_HARM = {**HARM, "significant_harm": False, "child_age": 14}
# A 14-year-old in a sexual relationship: the DSL must assess it (protocol 4.2).
SEXUAL_ACTIVITY_14 = {**NO_HARM, "sexual_activity": True}
SLEEPING_WITH_BOYFRIEND = "Year 9 pupil says she is sleeping with her boyfriend"
ASSESSED = {
    "age_or_power_imbalance": True,
    "coercion": False,
    "exploitation_signs": False,
    "partner_in_position_of_trust": False,
}
SAME_AGE_PEERS = {**ASSESSED, "age_or_power_imbalance": False}
CSE_16 = {
    **NO_HARM,
    "child_age": 16,
    "cse_concern": True,
    "sexual_activity": True,
    "partner_details": "Man known as 'Tee', about 25, drives a black Audi, meets her after school",
    "consent_unsafe": True,
    "consent_unsafe_reason": "Telling the family now would alert the men involved",
}
SHARE = {
    "information_shared": "Account of the bruising and the child's words",
    "method": "secure_portal",
    "necessary_and_proportionate": True,
}
TOLD = Do("inform_family", {"subject_informed": True})
NOT_TOLD = Do(
    "inform_family",
    {"subject_informed": False, "not_informed_reason": "Telling them would put the child at risk"},
)
TOLD_ENTRY = {
    "follows": 1,
    "subject_informed": True,
    "reasons": "The family was told what was shared and why",
}
# The practitioner's own words, recorded as given (no constant replaces them).
OWN_BASIS = "UK GDPR Art. 6(1)(e) and Art. 9(2)(g); DPA 2018 Sch. 1 para 18"
DPA = (
    "UK GDPR Art. 6(1)(e) or 6(1)(c); Art. 9 with DPA 2018 Sch. 1 para 18 "
    "(safeguarding of children and individuals at risk)"
)


def share(lawful_basis: str | None = None, **extra) -> Do:
    return Do("share_information", {**SHARE, "lawful_basis": lawful_basis, **extra})


def assess(outcome: str, reasons: str, answers: dict = ASSESSED) -> Do:
    return Do(
        "assess_sexual_activity", {**answers, "assessment_outcome": outcome, "reasons": reasons}
    )
