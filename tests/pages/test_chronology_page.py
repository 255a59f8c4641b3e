"""The chronology of a child's case: the page, its print stylesheet and the PDF made on the
server - one list of the significant events the viewer may see, in date order, the download
audited and never cached."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta

import pytest
from pypdf import PdfReader

from records.chronology import chronology
from service.context import services
from storage import UnitOfWork
from storage.models import SharingRecord
from tests.support.helpers import start_instance, token_client
from tests.support.pages import assert_clean, audited, sign_in
from workflows.clock import FrozenClock

CHILD = "child-1"
NOT_TO_SHARE = {
    "information": "Bruising seen at school",
    "recipient_agency": "childrens_social_care",
    "purpose": "Protect the child from harm",
    "legitimate_purpose": "no",
    "identifies_living_person": True,
    "confidential": True,
}
# What pat's case shows, oldest first (one event an hour).
EVENTS = [
    "Information sharing #1 started",
    "Decided not to share",
    "Information sharing #1 ended",
    "Consent recorded: mother (written)",
    "Referral to children's social care #2 started",
    "Resolving a professional disagreement #3 started",
    "Consent withdrawn: mother",
]


@pytest.fixture
def clock():
    return FrozenClock(datetime(2026, 11, 2, 9, 0, tzinfo=UTC))


@pytest.fixture
def app(page_app, clock):
    people = {
        "pat": {"roles": ["practitioner"], "agency": "school"},
        "zed": {"roles": ["practitioner"], "agency": "health"},
    }
    shipped = ("information_sharing", "referral", "escalation")
    built = page_app(people, shipped=shipped, clock=clock)
    pat = token_client(built, "pat")
    started = start_instance(pat, "information_sharing", business_key=CHILD).get_json()
    clock.advance(timedelta(minutes=30))
    [step] = started["active_tasks"]
    done = pat.post(f"/api/tasks/{step['id']}/complete", json={"data": NOT_TO_SHARE})
    assert done.status_code == 200, done.get_json()
    clock.advance(timedelta(hours=1))
    consent = pat.post(
        "/api/consents",
        json={
            "child": CHILD,
            "person": "mother",
            "agencies": ["school"],
            "purposes": ["early help"],
            "how": "written",
        },
    ).get_json()
    for key in ("referral", "escalation"):
        clock.advance(timedelta(hours=1))
        assert start_instance(pat, key, business_key=CHILD).status_code == 201
    clock.advance(timedelta(hours=1))
    withdrawn = pat.post(f"/api/consents/{consent['id']}/withdraw", json={"reason": "Moved away"})
    assert withdrawn.status_code == 200
    return built


def _in_order(text: str, events: list[str]) -> bool:
    found = [text.find(event) for event in events]
    return -1 not in found and found == sorted(found)


def test_the_chronology_lists_the_significant_events_in_date_order(app):
    page = sign_in(app).get(f"/cases/{CHILD}/chronology")
    assert page.status_code == 200
    html = page.get_data(as_text=True).replace("&#39;", "'")
    assert _in_order(html, EVENTS), html
    assert "Moved away" in html and "for early help; may be shared with school" in html
    assert "“Describe the request” waiting" not in html  # steps are not significant events
    assert re.search(r'<link rel="stylesheet" href="/static/print.css" media="print">', html)
    assert f'href="/cases/{CHILD}/chronology.pdf"' in html
    assert_clean(page)
    [read] = audited(app, "chronology.chronology_page")
    assert (read.actor, read.case_key, read.outcome) == ("pat", CHILD, "ok")
    assert read.detail["events"] == len(EVENTS)


def test_someone_sees_only_the_processes_they_work_in(app):
    zed = token_client(app, "zed")
    assert start_instance(zed, business_key=CHILD).status_code == 201  # a process of her own
    html = sign_in(app, "zed").get(f"/cases/{CHILD}/chronology").get_data(as_text=True)
    assert "Three steps #1 started" in html or "Three steps started" in html
    assert "Decided not to share" not in html and "Referral" not in html
    assert "Consent withdrawn: mother" in html  # the child's consents, as the register shows


def test_an_outsider_gets_404_for_the_page_and_the_pdf(app):
    zed = sign_in(app, "zed")
    for path in (f"/cases/{CHILD}/chronology", f"/cases/{CHILD}/chronology.pdf"):
        answer = zed.get(path)
        assert answer.status_code == 404
        assert "mother" not in answer.get_data(as_text=True)
    assert [e.outcome for e in audited(app, "chronology.pdf")] == ["404"]


def test_the_pdf_holds_the_same_events_and_its_download_is_audited(app):
    answer = sign_in(app).get(f"/cases/{CHILD}/chronology.pdf")
    assert answer.status_code == 200
    assert answer.mimetype == "application/pdf"
    assert answer.headers["Cache-Control"] == "no-store"
    assert answer.headers["Content-Disposition"] == f'attachment; filename="chronology-{CHILD}.pdf"'
    pdf = PdfReader(io.BytesIO(answer.data))
    text = " ".join(page.extract_text() for page in pdf.pages)
    text = re.sub(r"\s+", " ", text).replace("’", "'")
    assert _in_order(text, EVENTS), text
    assert "Moved away" in text
    assert pdf.metadata.title == f"Chronology of case {CHILD}"  # what the page's title shows
    assert not {"/Author", "/Subject", "/Keywords"} & set(pdf.metadata)
    [download] = audited(app, "chronology.pdf")
    assert (download.actor, download.case_key, download.outcome) == ("pat", CHILD, "ok")
    assert download.detail["download"] == "pdf"


def test_a_share_and_what_the_family_was_told_read_as_a_reviewer_needs(app, clock):
    """Register entries as the chronology words them (not stored: the builder only reads)."""
    at = clock.now()
    share = SharingRecord(
        id=7,
        decision="share",
        with_consent=False,
        recipients=[{"agency": "health", "person": "Health visitor"}],
        lawful_basis="UK GDPR Art. 6(1)(e)",
        reasons="Risk of significant harm",
        decided_by="pat",
        decided_at=at,
    )
    told = SharingRecord(
        id=8,
        follows=7,
        decision="share",
        with_consent=False,
        subject_informed=False,
        not_informed_reason="Telling the father would put the child at risk",
        reasons="",
        decided_at=at + timedelta(minutes=5),
    )
    with app.app_context(), UnitOfWork(services().session_factory) as uow:
        entries = chronology(uow.session, "child-nobody", [], {}, [told, share])
    assert [(e.kind, e.what) for e in entries] == [
        ("share", "#7 Decided to share with health (Health visitor)"),
        ("decision", "#8 Family not told of the decision #7"),
    ]
    assert entries[0].detail == (
        "without consent; lawful basis: UK GDPR Art. 6(1)(e). Risk of significant harm"
    )
    assert entries[1].detail == "Telling the father would put the child at risk"
