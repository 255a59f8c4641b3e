"""Every path of ``information_sharing``: the end reached, the register entry, the referral."""

from __future__ import annotations

import pytest

from tests.diagrams.walking import Do, Path, walk

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
SHARE = {
    "information_shared": "Account of the bruising and the child's words",
    "method": "secure_portal",
    "necessary_and_proportionate": True,
}
TOLD = Do("inform_family", {"subject_informed": True})
DPA = (
    "UK GDPR Art. 6(1)(e) or 6(1)(c); Art. 9 with DPA 2018 Sch. 1 para 18 "
    "(safeguarding of children and individuals at risk)"
)


def share(lawful_basis: str | None = None) -> Do:
    return Do("share_information", {**SHARE, "lawful_basis": lawful_basis})


PATHS = [
    Path(
        "no legitimate purpose: not shared",
        [Do("describe_request", {**REQUEST, "legitimate_purpose": "no"})],
        ends={"end_not_shared"},
        entries=[{"decision": "not_share", "with_consent": False, "lawful_basis": None}],
    ),
    Path(
        "not confidential: shared without restriction",
        [Do("describe_request", {**REQUEST, "confidential": False}), share(), TOLD],
        ends={"end_shared"},
        entries=[
            {
                "decision": "share",
                "with_consent": False,
                "lawful_basis": "Not confidential personal information",
                "recipients": [
                    {"agency": "childrens_social_care", "person": "MASH duty social worker"}
                ],
            }
        ],
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
            }
        ],
    ),
    Path(
        "consent refused, significant harm: shared without consent and referred",
        [
            Do("describe_request", REQUEST),
            Do("safeguarding_check", HARM),
            Do("seek_consent", {"consent_outcome": "refused"}),
            share("Art. 6(1)(e)"),
            TOLD,
        ],
        ends={"end_shared"},
        entries=[
            {
                "decision": "share",
                "with_consent": False,
                "consent_status": "refused",
                "lawful_basis": DPA,
                "consent_override_reason": (
                    "Consent refused; shared without consent as a safeguarding share"
                ),
            }
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
        "in doubt, advised to share; seeking consent unsafe: shared without consent",
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
            Do("inform_family", {"subject_informed": False, "not_informed_reason": "Unsafe"}),
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
            }
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
        entries=[{"decision": "share", "with_consent": True}],
        thrown=["start_referral"],
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
            }
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
]


@pytest.mark.parametrize("path", PATHS, ids=[p.id for p in PATHS])
def test_path(path: Path):
    walk("information_sharing", path)


def test_the_referral_carries_what_make_referral_needs():
    walker = walk("information_sharing", PATHS[3])
    assert walker.thrown == [
        (
            "start_referral",
            {
                "concerns": REQUEST["information"],
                "cse_concern": False,
                "under_13_sexual_activity": False,
                "source": "information_sharing",
            },
        )
    ]
