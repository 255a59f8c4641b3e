"""A page printed to PDF on the server with WeasyPrint (pango does the text), fetching nothing.

The HTML is rendered by the service from its own template; its stylesheet is read from the
service's static folder and handed over as a string, and the fetcher allows no protocol at
all, so a value typed into a case (escaped, but still text) can never make the server fetch a
file or a URL while it prints. Flask-free: the caller renders, this only prints.
"""

from __future__ import annotations

from pathlib import Path

import weasyprint
from weasyprint.urls import URLFetcher


def pdf_of(html: str, stylesheet: Path) -> bytes:
    """``html`` as a PDF, laid out for print with ``stylesheet``. Its metadata title is the
    document's ``<title>``, and nothing else of the page goes into the metadata."""
    fetch_nothing = URLFetcher(allowed_protocols=())
    css = weasyprint.CSS(string=stylesheet.read_text(encoding="utf-8"), url_fetcher=fetch_nothing)
    document = weasyprint.HTML(string=html, url_fetcher=fetch_nothing)
    return document.write_pdf(stylesheets=[css])
