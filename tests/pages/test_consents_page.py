"""The consent register of a child as a page: what it shows, recording and withdrawing from its
forms, and the API's rules - the front door keeps the register, everyone else needs
need-to-know, and an outsider is told the child does not exist and learns nothing."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from tests.support.helpers import start_instance, token_client
from tests.support.pages import assert_clean, audited, csrf_of, sign_in
from workflows.clock import FrozenClock

CHILD = "child-1"
CONSENT = {
    "child": CHILD,
    "person": "mother",
    "agencies": ["school", "health"],
    "purposes": ["early help assessment"],
    "how": "written",
}


@pytest.fixture
def clock():
    return FrozenClock(datetime(2026, 11, 2, 9, 0, tzinfo=UTC))


@pytest.fixture
def app(page_app, clock):
    people = {
        "pat": {"roles": ["practitioner"], "agency": "school"},
        "zed": {"roles": ["practitioner"], "agency": "health"},
        "colin": {"roles": ["csc"], "agency": "childrens_social_care"},
        "bea": {"roles": ["board"], "agency": "partnership"},
    }
    built = page_app(people, clock=clock)
    assert start_instance(token_client(built, "pat"), business_key=CHILD).status_code == 201
    return built


def _record(app, who: str = "pat", business_key: str = CHILD, **fields) -> dict:
    body = {**CONSENT, "child": business_key, **fields}  # on the register's wire: ``child``
    answer = token_client(app, who).post("/api/consents", json=body)
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()


def _listed(app, who: str = "pat", business_key: str = CHILD) -> list[dict]:
    answer = token_client(app, who).get("/api/consents", query_string={"child": business_key})
    return answer.get_json()["items"]


def _form(browser, path: str, **fields) -> object:
    """POST ``fields`` with the CSRF token of the consents page, as the page's form does."""
    token = csrf_of(browser.get(f"/children/{CHILD}/consents"))
    return browser.post(path, data={"csrf_token": token, **fields})


def test_the_page_shows_scope_who_recorded_how_and_the_withdrawals(app, clock):
    _record(app, notes="Signed at the family meeting")
    clock.advance(timedelta(days=1))
    second = _record(app, person="child", agencies=["school"], how="verbal")
    token_client(app, "pat").post(
        f"/api/consents/{second['id']}/withdraw", json={"reason": "She asked us to stop"}
    )
    page = sign_in(app).get(f"/children/{CHILD}/consents")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "<h1>Consents of child-1</h1>" in html
    assert "A consent is in force for this child." in html
    mother, child = html.split(f'id="consent-{second["id"]}"')
    assert "school, health" in mother and "early help assessment" in mother
    assert "written" in mother and "by pat" in mother and "02 Nov 2026 09:00 UTC" in mother
    assert "Signed at the family meeting" in mother and "Withdraw this consent" in mother
    assert "withdrawn" in child and "She asked us to stop" in child
    assert "03 Nov 2026 09:00 UTC" in child and "Withdraw this consent" not in child
    assert_clean(page)
    [read] = audited(app, "consents_page.consents")
    assert (read.actor, read.case_key, read.outcome) == ("pat", CHILD, "ok")


def test_a_consent_recorded_from_the_form_is_in_the_register(app):
    browser = sign_in(app)
    answer = _form(
        browser,
        f"/children/{CHILD}/consents",
        person="father",
        agencies=["school", "childrens_social_care"],
        purposes="Early help assessment\n\nTeam around the family\n",
        how="electronic",
        notes="",
    )
    assert answer.status_code == 302
    assert answer.headers["Location"].endswith(f"/children/{CHILD}/consents")
    shown = browser.get(answer.headers["Location"]).get_data(as_text=True)
    assert "Consent recorded" in shown and "Early help assessment; Team around the family" in shown
    [row] = _listed(app)
    assert (row["person"], row["how"], row["recorded_by"]) == ("father", "electronic", "pat")
    assert row["agencies"] == ["school", "childrens_social_care"]
    assert row["purposes"] == ["Early help assessment", "Team around the family"]
    assert row["notes"] is None


@pytest.mark.parametrize(
    ("missing", "field"), [("agencies", "agencies"), ("how", "how"), ("person", "person")]
)
def test_a_refused_form_names_the_field_and_keeps_what_was_typed(app, missing, field):
    fields = {
        "person": "grandmother",
        "agencies": ["health"],
        "purposes": "Health visiting",
        "how": "verbal",
    }
    fields[missing] = [] if missing == "agencies" else "  "
    answer = _form(sign_in(app), f"/children/{CHILD}/consents", **fields)
    assert answer.status_code == 422
    html = answer.get_data(as_text=True)
    assert f'id="error-{field}"' in html and f'href="#field-{field}"' in html
    assert "Health visiting</textarea>" in html
    assert_clean(answer)
    assert _listed(app) == []


def test_withdrawing_needs_a_reason_and_happens_once(app):
    consent = _record(app)
    browser = sign_in(app)
    path = f"/children/{CHILD}/consents/{consent['id']}/withdraw"
    refused = _form(browser, path, reason="   ")
    assert refused.status_code == 422
    assert f'id="error-reason-{consent["id"]}"' in refused.get_data(as_text=True)
    assert _listed(app)[0]["in_force"] is True

    done = _form(browser, path, reason="Mother rang to withdraw it")
    assert done.status_code == 302
    assert done.headers["Location"].endswith(f"/consents#consent-{consent['id']}")
    [row] = _listed(app)
    assert (row["in_force"], row["withdrawn_by"]) == (False, "pat")
    assert row["withdrawal_reason"] == "Mother rang to withdraw it"
    again = _form(browser, path, reason="Twice")
    assert again.status_code == 409
    assert "already withdrawn" in again.get_data(as_text=True)
    assert _listed(app)[0]["withdrawal_reason"] == "Mother rang to withdraw it"


def test_an_outsider_is_told_the_child_does_not_exist_and_changes_nothing(app):
    consent = _record(app)
    zed = sign_in(app, "zed")
    page = zed.get(f"/children/{CHILD}/consents")
    assert page.status_code == 404
    assert "mother" not in page.get_data(as_text=True)
    token = csrf_of(zed.get("/"))
    recorded = zed.post(
        f"/children/{CHILD}/consents",
        data={"csrf_token": token, "person": "uncle", "agencies": "police", "purposes": "x"},
    )
    assert recorded.status_code == 404
    withdrawn = zed.post(
        f"/children/{CHILD}/consents/{consent['id']}/withdraw",
        data={"csrf_token": token, "reason": "I say so"},
    )
    assert withdrawn.status_code == 404
    [row] = _listed(app)
    assert row["in_force"] is True and row["person"] == "mother"
    assert [e.outcome for e in audited(app, "consents_page.consents")] == ["404"]


def test_a_consent_of_another_child_cannot_be_withdrawn_through_this_childs_page(app):
    other = _record(app, "colin", "child-2")  # the front door keeps every child's
    answer = _form(
        sign_in(app), f"/children/{CHILD}/consents/{other['id']}/withdraw", reason="Not mine"
    )
    assert answer.status_code == 404
    assert _listed(app, "colin", "child-2")[0]["in_force"] is True


def test_the_front_door_keeps_the_register_and_the_board_does_no_casework(app):
    front_door = sign_in(app, "colin")
    page = front_door.get("/children/child-9/consents")  # no case yet: the register holds any
    assert page.status_code == 200
    assert "No consent has been recorded for this child." in page.get_data(as_text=True)
    assert sign_in(app, "bea").get("/children/child-9/consents").status_code == 403


def test_the_page_needs_a_sign_in_and_a_key_the_register_can_hold(app):
    answer = app.test_client().get(f"/children/{CHILD}/consents")
    assert answer.status_code == 302 and "/login" in answer.headers["Location"]
    too_long = sign_in(app, "colin").get(f"/children/{'x' * 201}/consents")
    assert too_long.status_code == 404


def test_the_case_page_links_the_consents_and_the_chronology(app):
    html = sign_in(app).get(f"/cases/{CHILD}").get_data(as_text=True)
    assert re.search(rf'href="/children/{CHILD}/consents"', html)
    assert re.search(rf'href="/cases/{CHILD}/chronology"', html)
