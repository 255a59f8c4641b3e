"""The words a report may print for an agency or a lawful basis: the service's own, never the
register's text.

Register entries keep what was typed (early help's agencies are free text, a correction names
its recipients, the lawful basis is "as given by the practitioner"). A report that printed those
values could print anything a caller typed, a business key included. So the report maps every
stored value onto a fixed vocabulary, and whatever does not match is counted under ``other``:
no label can carry text from a register entry.
"""

from __future__ import annotations

import re

# The recipient agencies of information_sharing.bpmn (its ``recipient_agency`` enum); a test
# keeps the two the same.
AGENCIES = (
    "police",
    "health",
    "school",
    "childrens_social_care",
    "early_help",
    "voluntary",
    "other",
)
OTHER_AGENCY = "other"

CONSENT = "consent"
OTHER_BASIS = "other lawful basis (as recorded)"
NOT_CONFIDENTIAL = "not confidential personal information"
# UK GDPR Article 6(1) bases, by the letter of the paragraph.
ARTICLE_6 = {
    "a": "UK GDPR Art. 6(1)(a) consent",
    "b": "UK GDPR Art. 6(1)(b) contract",
    "c": "UK GDPR Art. 6(1)(c) legal obligation",
    "d": "UK GDPR Art. 6(1)(d) vital interests",
    "e": "UK GDPR Art. 6(1)(e) public task",
    "f": "UK GDPR Art. 6(1)(f) legitimate interests",
}
LAWFUL_BASES = (CONSENT, NOT_CONFIDENTIAL, *ARTICLE_6.values(), OTHER_BASIS)
_ART6 = re.compile(r"6\s*\(\s*1\s*\)\s*\(\s*([a-f])\s*\)", re.IGNORECASE)
_SEPARATORS = re.compile(r"[\s\-]+")


def agency(value: object) -> str:
    """The vocabulary's word for a stored agency (``"Children's social care"`` → its id)."""
    if not isinstance(value, str):
        return OTHER_AGENCY
    word = _SEPARATORS.sub("_", value.strip().casefold().replace("'", ""))
    return word if word in AGENCIES else OTHER_AGENCY


def lawful_basis(text: str | None, with_consent: bool) -> str:
    """The vocabulary's label for a share's lawful basis.

    No basis recorded (a share with consent) or a basis naming consent is ``consent``; the
    diagrams' "Not confidential personal information" keeps its own label; otherwise the
    first UK GDPR Article 6(1) paragraph the text cites (the diagrams cite 6(1)(e) first), or
    ``OTHER_BASIS`` when it cites none.
    """
    if not text or not text.strip():
        return CONSENT
    folded = text.casefold()
    if folded.strip() == NOT_CONFIDENTIAL:
        return NOT_CONFIDENTIAL
    found = _ART6.search(text)
    if found:
        return ARTICLE_6[found.group(1).lower()]
    if with_consent or folded.strip() in ("consent", "informed consent"):
        return CONSENT
    return OTHER_BASIS
