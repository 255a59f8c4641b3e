"""The child record over the API: recorded once per child at a start, checked (NHS modulus 11,
one identifier), never overwritten by a later start, and purged with the child's last case."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from records import children, retention
from service.context import services
from storage import UnitOfWork
from storage.children import ChildRecord
from tests.support.helpers import assert_error, deploy_xml, start_instance

VALID_NHS = "9434765919"  # the NHS's own example number


def test_the_nhs_number_check_digit():
    assert children.nhs_number_valid(VALID_NHS)
    assert not children.nhs_number_valid("9434765918")  # wrong check digit
    assert not children.nhs_number_valid("943476591")  # nine digits
    assert not children.nhs_number_valid("94347659１9")  # a full-width digit is no digit
    # Remainder 1 makes the check 10: no such number is ever issued, whatever the last digit.
    assert not any(children.nhs_number_valid(f"100000001{d}") for d in range(10))
    # Remainder 0 makes the check 11, written as 0.
    assert children.nhs_number_valid("1000000060")
    assert children.nhs_digits("943 476-5919") == VALID_NHS


def test_dates_are_read_as_people_in_england_write_them():
    assert children.parse_date("2015-04-02") == date(2015, 4, 2)
    assert children.parse_date("02/04/2015") == date(2015, 4, 2)
    assert children.parse_date("31/02/2015") is None
    assert children.parse_date("April 2015") is None


@pytest.fixture
def ada(app, client):
    assert deploy_xml(client).status_code == 201
    return client


def _record(app, key: str) -> ChildRecord | None:
    with app.app_context(), UnitOfWork(services().session_factory) as uow:
        found = uow.session.get(ChildRecord, key)
        if found is not None:
            uow.session.expunge(found)
        return found


def test_a_start_records_the_child_once_and_a_later_start_reuses_it(app, ada):
    first = {"display_name": "Sam B.", "date_of_birth": "2015-04-02", "nhs_number": "943 476 5919"}
    started = start_instance(ada, business_key="child-1", child_record=first)
    assert started.status_code == 201, started.get_json()
    record = _record(app, "child-1")
    assert (record.display_name, record.date_of_birth, record.nhs_number, record.la_person_id) == (
        "Sam B.",
        date(2015, 4, 2),
        VALID_NHS,
        None,
    )
    assert record.recorded_by == "ada"
    # A second process for the child: its details do not overwrite the first record.
    again = start_instance(ada, business_key="child-1", child_record={"display_name": "Other"})
    assert again.status_code == 201
    assert _record(app, "child-1").display_name == "Sam B."
    # A start without details records nothing.
    assert start_instance(ada, business_key="child-2").status_code == 201
    assert _record(app, "child-2") is None


@pytest.mark.parametrize(
    ("details", "field"),
    [
        ({"nhs_number": "9434765918"}, "child_record.nhs_number"),
        ({"nhs_number": VALID_NHS, "la_person_id": "LA-1"}, "child_record.la_person_id"),
        ({"date_of_birth": "31/02/2015"}, "child_record.date_of_birth"),
        ({"date_of_birth": "2999-01-01"}, "child_record.date_of_birth"),
        ({"la_person_id": "has spaces"}, "child_record.la_person_id"),
        ({"display_name": 7}, "child_record.display_name"),
        ({"colour": "red"}, "child_record.colour"),
    ],
)
def test_bad_details_are_422_naming_the_field_and_start_nothing(app, ada, details, field):
    error = assert_error(
        start_instance(ada, business_key="child-9", child_record=details), 422, "invalid_input"
    )
    assert field in {d["field"] for d in error["details"]}
    assert _record(app, "child-9") is None
    assert ada.get("/api/process-instances?business_key=child-9").get_json()["items"] == []


def test_details_need_a_child_and_an_object(ada):
    error = assert_error(start_instance(ada, child_record={"display_name": "Sam"}), 422)
    assert error["details"][0]["field"] == "child_record"
    error = assert_error(start_instance(ada, business_key="c", child_record="Sam"), 422)
    assert error["details"][0]["field"] == "child_record"


def _cancel(ada, instance_id: str) -> None:
    answer = ada.post(f"/api/process-instances/{instance_id}/cancel", json={"reason": "test"})
    assert answer.status_code == 200, answer.get_json()


def _purge(app, days_later: int) -> dict:
    days = {kind: 30 for kind in ("case", "notification", "consent", "register", "audit")}
    with app.app_context(), UnitOfWork(services().session_factory) as uow:
        now = services().clock.now() + timedelta(days=days_later)
        totals = retention.purge(uow.session, retention.plan(uow.session, now, days), now)
        uow.commit()
    return totals


def test_retention_purges_the_record_with_the_last_of_the_childs_processes(app, ada):
    details = {"display_name": "Sam B.", "la_person_id": "LA-20417"}
    first = start_instance(ada, business_key="child-1", child_record=details).get_json()["id"]
    second = start_instance(ada, business_key="child-1").get_json()["id"]
    _cancel(ada, first)
    _purge(app, 400)  # one process still runs: the case is open, the record stays
    assert _record(app, "child-1").la_person_id == "LA-20417"
    _cancel(ada, second)
    assert _purge(app, 20)["cases"] == 0  # closed, but not yet for its period
    assert _record(app, "child-1") is not None
    assert _purge(app, 400)["child_records"] == 1
    assert _record(app, "child-1") is None
