"""A child's chronology as a page that prints cleanly, and as a PDF made on the server.

One list (``records.chronology``) for both, built from what the viewer may see: the instances
of the case they may see (as the case page shows them), those instances' register entries if
they may read the register, and the child's consents. Need-to-know is the route's rule
(``case_scoped``): a case one may not see is a 404. Both the read and the download are audited
with the case's key and how many events were shown; the PDF is never cached.
"""

from __future__ import annotations

import re
from pathlib import Path

from flask import Blueprint, Response, current_app, render_template

from records.chronology import Entry, chronology
from service import trail
from service.access import access, viewer
from service.auth import current_user
from service.context import services, uow
from service.openapi import HTML, spec
from service.pages.cases import instances_of_case, labels, register_of
from service.pdf import pdf_of

bp = Blueprint("chronology", __name__)
PDF = {"application/pdf": {"type": "string", "format": "binary"}}
NOT_IN_A_FILENAME = re.compile(r"[^A-Za-z0-9_-]+")


def _entries(business_key: str) -> list[Entry]:
    session = uow().session
    user = current_user()
    instances = instances_of_case(session, business_key, viewer(user))
    names = {key: name for key, (name, _version) in labels(session, instances).items()}
    register = register_of(session, user, instances)
    entries = chronology(session, business_key, instances, names, register)
    trail.note(detail={"events": len(entries)})
    return entries


@bp.get("/cases/<business_key>/chronology")
@access(case_scoped=True)
@spec(
    "A child's chronology: the significant events of the processes one may see, oldest first "
    "(a page, with a print stylesheet)",
    responses={200: HTML, 302: None},
    tag="pages",
)
def chronology_page(business_key: str):
    return render_template(
        "chronology.html",
        user=current_user(),
        key=business_key,
        entries=_entries(business_key),
        now=services().clock.now(),
    )


@bp.get("/cases/<business_key>/chronology.pdf")
@access(case_scoped=True)
@spec(
    "The child's chronology as a PDF made on the server (a download; audited, never cached)",
    responses={200: PDF, 302: None},
    tag="pages",
)
def pdf(business_key: str):
    html = render_template(
        "chronology_document.html",
        user=current_user(),
        key=business_key,
        entries=_entries(business_key),
        now=services().clock.now(),
    )
    trail.note(detail={"download": "pdf"})
    stylesheet = Path(current_app.static_folder) / "print.css"
    response = Response(pdf_of(html, stylesheet), mimetype="application/pdf")
    name = NOT_IN_A_FILENAME.sub("-", business_key)[:80] or "case"
    response.headers["Content-Disposition"] = f'attachment; filename="chronology-{name}.pdf"'
    response.headers["Cache-Control"] = "no-store"
    return response
