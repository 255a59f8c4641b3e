"""The Board's sharing report: figures, small-number suppression, CSV, access and the page."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from records import register
from service.app import create_app
from service.context import services
from service.pages.charts import LABEL_CHARS, LABEL_WIDTH
from storage import UnitOfWork
from storage.models import Escalation
from tests.support.helpers import deploy_xml, make_user, open_task_id, start_instance, token_client
from workflows.clock import FrozenClock

ESCALATION = Path(__file__).resolve().parents[2] / "bpmn" / "escalation.bpmn"
MONDAY = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)  # 10:00 in London (GMT)
CHILDREN = [f"child-ref-{n:03d}" for n in range(9)]
LAWFUL = "UK GDPR Art 6(1)(e) public task; Art 9(2)(g) with DPA 2018 Sch 1 para 18"


@pytest.fixture
def clock():
    return FrozenClock(MONDAY)


@pytest.fixture
def app(db_url, clock):
    app = create_app({"DATABASE_URL": db_url, "TESTING": True}, clock=clock)
    yield app
    app.extensions["safeguard"].db.dispose()


def _decide(app, instance_id: str, business_key: str, entry: dict) -> None:
    with app.app_context(), UnitOfWork(services().session_factory) as uow:
        register.record(
            uow.session,
            entry,
            instance_id=instance_id,
            decided_by="pat",
            now=services().clock.now(),
            business_key=business_key,
        )
        uow.commit()


def _case(
    app, pat, clock, business_key, *, late: bool, decide_after: timedelta, entry: dict
) -> str:
    clock.set(MONDAY)
    response = start_instance(pat, business_key=business_key)
    assert response.status_code == 201, response.get_json()
    instance_id = response.get_json()["id"]
    # "describe" is due at the close of the next working day (1WD): Tuesday 17:00.
    clock.set(MONDAY + (timedelta(days=3) if late else timedelta(hours=1)))
    task_id = open_task_id(app, instance_id, "describe")
    done = pat.post(f"/api/tasks/{task_id}/complete", json={"data": {"concern": "=cmd|x"}})
    assert done.status_code == 200, done.get_json()
    clock.set(MONDAY + decide_after)
    _decide(app, instance_id, business_key, entry)
    return instance_id


def share(agency: str, **more) -> dict:
    return {
        "decision": "share",
        "with_consent": True,
        "reasons": "Needed for support",
        "recipients": [{"agency": agency, "person": "Named nurse"}],
        **more,
    }


@pytest.fixture
def seeded(app, clock):
    """Eight decisions on eight children, two of them late on their first step, and two open
    escalations; working days from request to decision: five of 2, two of 4, one of 0.5."""
    make_user(app, "ada", ["admin"], agency="partnership")
    admin = token_client(app, "ada")
    assert deploy_xml(admin).status_code == 201
    make_user(app, "pat", ["practitioner"], agency="school")
    pat = token_client(app, "pat")
    two_days, four_days = timedelta(days=2), timedelta(days=4)  # Mon -> Wed, Mon -> Fri
    for n in range(5):
        _case(
            app, pat, clock, CHILDREN[n], late=False, decide_after=two_days, entry=share("health")
        )
    without = share("police", with_consent=False, lawful_basis=LAWFUL)
    for n in (5, 6):
        _case(app, pat, clock, CHILDREN[n], late=True, decide_after=four_days, entry=without)
    refuse = {
        "decision": "not_share",
        "with_consent": False,
        "reasons": "Not necessary",
        "recipients": [{"agency": "school"}],
    }
    _case(app, pat, clock, CHILDREN[7], late=False, decide_after=timedelta(hours=4), entry=refuse)
    # Open now: a disagreement being described, and an overdue task in a manager's inbox.
    assert deploy_xml(admin, ESCALATION.read_bytes(), "escalation.bpmn").status_code == 201
    assert start_instance(pat, "escalation", business_key=CHILDREN[8]).status_code == 201
    with app.app_context(), UnitOfWork(services().session_factory) as uow:
        uow.session.add(
            Escalation(kind="overdue_task", role="manager", since=MONDAY, status="open")
        )
        uow.commit()
    make_user(app, "bea", ["board"], agency="partnership")
    return token_client(app, "bea")


def _labels(rows) -> dict:
    return {row["label"]: row["count"] for row in rows}


def test_report_counts_suppress_small_numbers_and_name_no_child(seeded):
    response = seeded.get("/api/reports/sharing?from=2026-03-01&to=2026-03-31")
    assert response.status_code == 200, response.get_json()
    report = response.get_json()
    decisions = report["decisions"]
    assert decisions["total"] == 8
    # 8 decisions, 7 shares: the "<5" would be 8 - 7, so the 7 is withheld too
    assert _labels(decisions["by_outcome"]) == {"share": "[c]", "not_share": "<5"}
    assert _labels(decisions["by_consent"]) == {
        "share with consent": 5,
        "share without consent": "<5",
    }
    # the practitioner's text is not printed: the Art. 6 paragraph it cites is
    assert _labels(decisions["by_lawful_basis"]) == {
        "consent": 5,
        "UK GDPR Art. 6(1)(e) public task": "<5",
    }
    assert _labels(decisions["by_agency"]) == {"health": 5, "police": "<5", "school": "<5"}
    assert _labels(decisions["by_month"]) == {"2026-03": 8}
    timing = report["time_to_decision"]
    assert (timing["decisions"], timing["median"], timing["p90"]) == (8, 2.0, 4.0)
    describe = next(row for row in report["tasks"] if row["step"] == "describe")
    assert (describe["on_time"], describe["late"]) == (6, "<5")
    stages = {row["stage"]: row["count"] for row in report["open_escalations"]}
    assert stages["Being described"] == "<5"
    assert stages["Manager inbox: overdue tasks"] == "<5"
    assert stages["Stage 4: senior managers"] == 0
    text = json.dumps(report)
    assert not any(child in text for child in CHILDREN)


def test_a_period_without_decisions_has_no_median(seeded):
    report = seeded.get("/api/reports/sharing?from=2026-04-01").get_json()
    assert report["decisions"]["total"] == 0
    assert report["time_to_decision"] == {
        "unit": "working days",
        "decisions": 0,
        "median": None,
        "p90": None,
    }
    bad = seeded.get("/api/reports/sharing?from=tuesday")
    assert bad.status_code == 422 and bad.get_json()["error"]["details"][0]["field"] == "from"


def test_csv_parses_back_and_is_safe_in_a_spreadsheet(seeded):
    response = seeded.get("/api/reports/sharing?format=csv&from=2026-03-01")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    raw = response.data
    assert raw.startswith(b"\xef\xbb\xbf")
    assert b"\r\n" in raw and b"\n" not in raw.replace(b"\r\n", b"")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline="")))
    assert rows[0] == ["section", "item", "measure", "value"]
    cells = {(r[0], r[1], r[2]): r[3] for r in rows[1:]}
    assert cells[("decisions by outcome", "share", "count")] == "[c]"
    assert cells[("decisions by outcome", "not_share", "count")] == "<5"
    assert cells[("decisions by agency", "police", "count")] == "<5"
    assert cells[("time to decision (working days)", "median", "")] == "2.0"
    assert cells[("tasks", "three_steps / Describe the concern", "late")] == "<5"
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)
    assert not any(child in raw.decode("utf-8-sig") for child in CHILDREN)


def test_formula_cells_are_defused():
    from records.report_csv import cell

    assert cell('=HYPERLINK("x")') == '\'=HYPERLINK("x")'
    assert [cell(v) for v in ("+1", "-1", "@SUM(A1)", "health", 5)] == [
        "'+1",
        "'-1",
        "'@SUM(A1)",
        "health",
        "5",
    ]


def test_only_the_board_managers_and_admins_read_reports(app, seeded, client_for):
    pat = token_client(app, "pat")
    assert pat.get("/api/reports/sharing").status_code == 403
    assert pat.get("/reports").status_code == 403
    maya = client_for("maya", ["manager"], agency="school")
    assert maya.get("/api/reports/sharing?format=csv").status_code == 200


def test_the_page_draws_charts_with_tables_for_the_board(seeded):
    page = seeded.get("/reports?from=2026-03-01&to=2026-03-31")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert html.count("<svg") == 7 and 'role="img"' in html
    assert "<script" not in html and "style=" not in html
    assert "<table>" in html and "&lt;5" in html
    assert "[c]" in html and "worked out from a total" in html  # withheld, and why
    assert "format=csv" in html and 'href="/reports"' in html
    assert not any(child in html for child in CHILDREN)
    bad = seeded.get("/reports?from=yesterday")
    assert bad.status_code == 422 and "must be a month" in bad.get_data(as_text=True)
    assert 'type="month"' in html and '<option value="2026-Q1">' in html


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("from=2026-03-02", "from"),  # a day inside a month
        ("to=2026-03-15", "to"),
        ("from=2026-03-01T00:00:00%2B00:00", "from"),  # an instant
        ("from=2026-04&to=2026-03", "to"),
        ("period=2026-Q5", "period"),
        ("period=2026-03-01", "period"),
        ("period=2026-Q1&from=2026-01", "period"),
        ("from=1066-10", "from"),
    ],
)
def test_anything_but_whole_months_is_refused_naming_the_field(seeded, query, field):
    response = seeded.get(f"/api/reports/sharing?{query}")
    assert response.status_code == 422, response.get_json()
    assert [d["field"] for d in response.get_json()["error"]["details"]] == [field]


def test_months_and_quarters_are_london_months(app, seeded, clock):
    """A decision at 23:30 UTC on 31 March is 00:30 BST on 1 April: an April decision."""
    pat = token_client(app, "pat")
    late_night = datetime(2026, 3, 31, 23, 30, tzinfo=UTC)
    _case(
        app,
        pat,
        clock,
        "child-ref-bst",
        late=False,
        decide_after=late_night - MONDAY,
        entry=share("health"),
    )
    april = seeded.get("/api/reports/sharing?period=2026-04").get_json()
    assert april["decisions"]["total"] == "<5" and april["months"] == ["2026-04"]
    assert april["from"] == "2026-03-31T23:00:00+00:00"  # midnight BST
    march = seeded.get("/api/reports/sharing?from=2026-03-01&to=2026-03-31").get_json()
    assert march["decisions"]["total"] == 8
    quarter = seeded.get("/api/reports/sharing?period=2026-Q2").get_json()
    assert quarter["months"] == ["2026-04", "2026-05", "2026-06"]
    assert quarter["to"] == "2026-06-30T23:00:00+00:00"


def _cells(report: dict) -> dict:
    decisions = report["decisions"]
    cells = {("total",): decisions["total"]}
    for part in ("by_outcome", "by_consent", "by_lawful_basis", "by_agency"):
        cells |= {(part, row["label"]): row["count"] for row in decisions[part]}
    for row in report["tasks"]:
        cells |= {("on_time", row["step"]): row["on_time"], ("late", row["step"]): row["late"]}
    return cells


def test_a_longer_period_shows_nothing_its_months_do_not(app, seeded, clock):
    """Overlapping periods cannot uncover a suppressed count: every figure a two-month report
    publishes is the sum of what the two month reports publish."""
    pat = token_client(app, "pat")
    refuse = {
        "decision": "not_share",
        "with_consent": False,
        "reasons": "No",
        "recipients": [{"agency": "school"}],
    }
    for n in range(2):  # two April decisions: April's total is "<5"
        _case(
            app,
            pat,
            clock,
            f"child-ref-apr{n}",
            late=False,
            decide_after=timedelta(days=31),
            entry=refuse,
        )
    months = [
        _cells(seeded.get(f"/api/reports/sharing?period={m}").get_json())
        for m in ("2026-03", "2026-04")
    ]
    both = _cells(seeded.get("/api/reports/sharing?from=2026-03&to=2026-04").get_json())
    assert months[1][("total",)] == "<5" and both[("total",)] == "[c]"  # 8 + "<5": withheld
    assert both[("by_agency", "health")] == 5  # April sent none to health: 5 + 0
    for cell, value in both.items():
        parts = [m.get(cell, 0) for m in months]
        if isinstance(value, int):
            assert all(isinstance(p, int) for p in parts) and value == sum(parts), cell
        else:
            assert value in parts or value == "[c]", cell


def test_a_label_never_comes_from_an_entrys_text(app, seeded, clock):
    """An agency or lawful basis typed as free text (here a business key) is counted under
    "other", so no key reaches the JSON, the CSV or the page."""
    pat = token_client(app, "pat")
    key = "child-ref-LEAK42"
    typed = share(key, with_consent=False, lawful_basis=f"see file {key}")
    for n in range(5):
        _case(
            app, pat, clock, f"{key}-{n}", late=False, decide_after=timedelta(days=2), entry=typed
        )
    report = seeded.get("/api/reports/sharing?period=2026-03").get_json()
    assert _labels(report["decisions"]["by_agency"])["other"] == 5
    assert "other lawful basis (as recorded)" in _labels(report["decisions"]["by_lawful_basis"])
    csv_text = seeded.get("/api/reports/sharing?period=2026-03&format=csv").data.decode()
    page = seeded.get("/reports?period=2026-03").get_data(as_text=True)
    for body in (json.dumps(report), csv_text, page):
        assert key.casefold() not in body.casefold()


def test_the_agency_vocabulary_is_the_diagrams():
    from lxml import etree

    from records.vocabulary import AGENCIES

    diagram = Path(__file__).resolve().parents[2] / "bpmn" / "information_sharing.bpmn"
    tree = etree.parse(str(diagram))
    ns = {"camunda": "http://camunda.org/schema/1.0/bpmn"}
    options = tree.xpath(
        "//camunda:formField[@id='recipient_agency']/camunda:value/@id", namespaces=ns
    )
    assert tuple(options) == AGENCIES


def test_a_step_still_open_past_its_due_time_is_counted_as_overdue_now(app, seeded, clock):
    """Counting only completed steps hid the latest ones: those still waiting."""
    before = seeded.get("/api/reports/sharing?period=2026-03").get_json()
    waiting = {row["step"]: row["open_late"] for row in before["tasks"]}
    pat = token_client(app, "pat")
    clock.set(MONDAY)
    assert start_instance(pat, business_key="child-ref-late").status_code == 201
    clock.set(MONDAY + timedelta(days=3))  # "describe" was due Tuesday 17:00
    report = seeded.get("/api/reports/sharing?period=2026-03").get_json()
    describe = next(row for row in report["tasks"] if row["step"] == "describe")
    assert waiting.get("describe", 0) == 0 and describe["open_late"] == "<5"
    csv_text = seeded.get("/api/reports/sharing?period=2026-03&format=csv").data.decode()
    assert "three_steps / Describe the concern,open and overdue now,<5" in csv_text
    page = seeded.get("/reports?period=2026-03").get_data(as_text=True)
    assert "Open and overdue now" in page and "open overdue" in page


def test_the_page_and_the_csv_agree_the_last_month_is_included(seeded):
    csv_text = seeded.get("/api/reports/sharing?from=2026-02&to=2026-03&format=csv").data
    rows = list(csv.reader(io.StringIO(csv_text.decode("utf-8-sig"), newline="")))
    cells = {(r[0], r[1]): r[3] for r in rows[1:]}
    assert cells[("period", "first month")] == "2026-02"
    assert cells[("period", "last month (inclusive)")] == "2026-03"
    page = seeded.get("/reports?from=2026-02&to=2026-03").get_data(as_text=True)
    assert "To month (inclusive)" in page and "Showing 2026-02 to 2026-03" in page


def test_an_invalid_period_draws_no_figures(seeded):
    """Figures of some other period under an error would be read as the answer."""
    bad = seeded.get("/reports?from=2026-04&to=2026-03")
    html = bad.get_data(as_text=True)
    assert bad.status_code == 422 and "must not be before" in html
    assert "<svg" not in html and "Decisions recorded" not in html
    assert 'name="from"' in html and "No figures are shown" in html


def test_chart_labels_fit_inside_the_chart(seeded):
    """A label is right-aligned at the bars' edge; one longer than fits is cut, not clipped."""
    html = seeded.get("/reports?period=2026-03").get_data(as_text=True)
    assert LABEL_CHARS * 7 <= LABEL_WIDTH - 6
    labels = [
        line.split(">", 1)[1].split("<", 1)[0]
        for line in html.splitlines()
        if 'text-anchor="end"' in line
    ]
    assert labels and all(len(label) <= LABEL_CHARS for label in labels)
