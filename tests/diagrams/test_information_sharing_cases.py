"""``information_sharing`` beyond its path table: what the automatic referral carries, where the
CSE partners' details go and never go, and the under-13 rule that skips the DSL assessment."""

from __future__ import annotations

from tests.diagrams.answers_information_sharing import (
    CSE_16,
    OWN_BASIS,
    REQUEST,
    SEXUAL_ACTIVITY_14,
    SHARE,
)
from tests.diagrams.test_information_sharing import path_named
from tests.diagrams.walking import Do, Walker, walk


def test_the_referral_carries_what_make_referral_needs():
    walker = walk("information_sharing", path_named("consent refused, significant harm"))
    assert walker.thrown == [
        (
            "start_referral",
            {
                "concerns": REQUEST["information"],
                "significant_harm": True,
                "cse_concern": False,
                "under_13_sexual_activity": False,
                "partner_details": None,
                "source": "information_sharing",
            },
        )
    ]


def test_cse_partner_details_go_to_the_referral_and_never_to_the_register():
    walker = walk("information_sharing", path_named("16-year-old, CSE"))
    assert walker.thrown[0][1]["partner_details"] == CSE_16["partner_details"]
    for entry in walker.entries():
        assert "partner_details" not in entry
        assert CSE_16["partner_details"] not in " ".join(str(v) for v in entry.values())


def test_share_information_arrives_with_the_partner_details_prefilled():
    walker = Walker("information_sharing").walk(
        [Do("describe_request", REQUEST), Do("safeguarding_check", CSE_16)]
    )
    assert walker.waiting() == ["share_information"]
    assert walker.problems("share_information", **SHARE, lawful_basis=OWN_BASIS)[0].field == (
        "partner_details"
    )
    task = next(
        t for t in walker.workflow.get_tasks() if t.task_spec.bpmn_id == "share_information"
    )
    assert task.data["partner_details"] == CSE_16["partner_details"]


def test_under_13_is_never_sent_to_the_dsl_assessment():
    walker = Walker("information_sharing").walk(
        [
            Do("describe_request", REQUEST),
            Do("safeguarding_check", {**SEXUAL_ACTIVITY_14, "child_age": 12}),
        ]
    )
    assert walker.waiting() == ["seek_consent"]
    assert [name for name, _ in walker.thrown] == ["start_referral"]
    assert walker.thrown[0][1]["under_13_sexual_activity"] is True
