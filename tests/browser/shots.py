"""Screenshots of the pages for the README.

Every browser test takes its screenshots, so a page that cannot render fails the test; they land
in ``docs/screenshots/`` only with ``SAFEGUARD_SCREENSHOTS=1`` (``make screenshots``), so that an
ordinary test run leaves the working tree as it found it.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _folder() -> Path:
    if os.environ.get("SAFEGUARD_SCREENSHOTS") == "1":
        return ROOT / "docs" / "screenshots"
    return Path(tempfile.gettempdir()) / "safeguard-screenshots"


def shoot(page, name: str, full_page: bool = True) -> Path:
    """Save a screenshot of ``page`` as ``NAME.png``; the path it was written to."""
    folder = _folder()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path
