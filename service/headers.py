"""Security headers on every response, pages and API alike."""

from __future__ import annotations

import base64
import hashlib

from flask import Response, request

# The only style attributes allowed: those that the bpmn-js packages (service/static/vendor,
# built from npm) write as HTML. Each is allowed by its hash, so no other inline style runs:
# the properties panel's two containers, and the align/distribute icons of the modeller.
VENDOR_STYLE_ATTRIBUTES = (
    "height: 100%",
    "flex: none; height: auto",
    "stroke:currentColor;stroke-width:100;stroke-linecap:round;",
    "fill:none;stroke:currentColor;stroke-width:100;",
    "fill:currentColor;stroke:currentColor;stroke-width:100;opacity:.5;",
    "fill:none;stroke:currentColor;stroke-width:100;stroke-linejoin:round;",
)


def _hash(value: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(value.encode()).digest()).decode() + "'"


# No inline script anywhere: scripts and styles come from the service itself.
CSP = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        " ".join(("style-src-attr 'unsafe-hashes'", *map(_hash, VENDOR_STYLE_ATTRIBUTES))),
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)


def add_security_headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CSP)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "no-referrer")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    if request.is_secure:
        headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    if request.endpoint != "static":
        # Case data must not linger in shared or browser caches.
        headers.setdefault("Cache-Control", "no-store")
    return response
