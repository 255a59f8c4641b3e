"""Input refused before any view runs, and redirects that never name a forged host (issue 14).

Lone surrogates (U+D800-U+DFFF not in a pair) are not text: UTF-8 cannot encode them, so
PostgreSQL's driver, SQLite's, the JSON log line and the audit hash all fail on one, and a
request that carried one answered 500 from whichever of them met it first. JSON is where they
get in (``"\\ud800"``, or the raw bytes ED A0 80, which Python's JSON reader decodes with
``surrogatepass``); werkzeug decodes paths, query strings and form bodies with ``replace``, so
those hold U+FFFD instead, and the hook checks them anyway in case that ever changes. One
place each: the app's JSON reader (:class:`StrictJSONProvider`, used by every ``get_json``)
and one ``before_request`` hook (:func:`refuse_lone_surrogates`), so no route can forget.

Redirects: a ``Location`` the app writes is a path (``url_for`` without ``_external``), but
werkzeug's own routing redirects (``//api//tasks`` → ``/api/tasks``) are absolute URLs built from
the request's ``Host`` header. :func:`relative_location` makes every ``Location`` a path on
this site, so a forged ``Host`` is never echoed back as a redirect target; the one exception is
a URL a view chose itself (:func:`leave_for`: an identity provider's sign-in page).
``TRUSTED_HOSTS`` (config, from the environment) additionally refuses unknown hosts with 400
where it is set.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from flask import Flask, Response, g, request
from flask.json.provider import DefaultJSONProvider

from service.errors import ApiError

SURROGATE = re.compile("[\ud800-\udfff]")
# A JSON text can only decode to a surrogate through one of these: a raw one, or an escape.
_MAYBE_SURROGATE = re.compile(r"[\ud800-\udfff]|\\u[dD][89a-fA-F]")
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def _refused(where: str) -> ApiError:
    return ApiError(
        400,
        "invalid_text",
        f"{where} contains a lone surrogate (U+D800 to U+DFFF), which is not text.",
        [{"field": where, "message": "contains a lone surrogate"}],
    )


def surrogate_at(value: Any, path: str = "") -> str | None:
    """Where in a decoded JSON value a lone surrogate is (``variables.note``, ``items.2``),
    or None. Iterative: a deeply nested body cannot make the check itself recurse."""
    stack = [(value, path)]
    while stack:
        item, where = stack.pop()
        if isinstance(item, str):
            if SURROGATE.search(item):
                return where or "body"
        elif isinstance(item, dict):
            for key, child in item.items():
                name = f"{where}.{key}" if where else str(key)
                if SURROGATE.search(key):
                    return f"{where}.<key>" if where else "<key>"
                stack.append((child, name))
        elif isinstance(item, list):
            stack.extend(
                (child, f"{where}.{i}" if where else str(i)) for i, child in enumerate(item)
            )
    return None


class StrictJSONProvider(DefaultJSONProvider):
    """Flask's JSON, but a body that decodes to a lone surrogate is a 400 naming the field,
    and bytes are decoded strictly (the standard reader uses ``surrogatepass``)."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        if isinstance(s, bytes | bytearray):
            s = bytes(s).decode(json.detect_encoding(s))  # strict: ED A0 80 is ValueError
        value = super().loads(s, **kwargs)
        if _MAYBE_SURROGATE.search(s):
            where = surrogate_at(value)
            if where is not None:
                raise _refused(where)
        return value


def _parse_json_body() -> None:
    """Parse (and cache for the view) a JSON body, even on a route that reads none: what
    ``service.api.requests.json_body`` would answer for a body it cannot use, it answers here."""
    try:
        body = request.get_json(silent=True)  # StrictJSONProvider refuses surrogates
    except RecursionError:
        raise ApiError(400, "malformed_json", "The request body is nested too deeply.") from None
    if body is None and request.get_data():
        raise ApiError(400, "malformed_json", "The request body is not valid JSON.")


def refuse_lone_surrogates() -> None:
    """A JSON body, the path, the query string and form fields (names, values, file names) of
    every request, sign-in and routes that read no body included: 400 naming where."""
    if request.is_json and request.content_length:
        _parse_json_body()
    if SURROGATE.search(request.path):
        raise _refused("path")
    for name, value in request.args.items(multi=True):
        if SURROGATE.search(f"{name}{value}"):
            raise _refused("query")
    if request.mimetype in FORM_TYPES:
        for name, value in request.form.items(multi=True):
            if SURROGATE.search(f"{name}{value}"):  # a multipart part may have no name
                raise _refused("form")
        for name, upload in request.files.items(multi=True):
            if SURROGATE.search(f"{name}{upload.filename or ''}"):
                raise _refused("file")


def relative_location(response: Response) -> Response:
    """Every ``Location`` as a path on this site: never a host taken from the request."""
    location = response.headers.get("Location")
    if location and location == g.get("leaving_for"):
        return response  # the one URL a view chose to leave for (:func:`leave_for`)
    if location:
        parts = urlsplit(location)
        path = "/" + parts.path.lstrip("/\\")  # "//evil" would be another site
        relative = urlunsplit(("", "", path, parts.query, parts.fragment))
        if relative != location:
            response.headers["Location"] = relative
    return response


def leave_for(response: Response) -> Response:
    """Let ``response`` send the browser to another site: an identity provider's sign-in page,
    built from the provider's configured discovery document, never from the request."""
    g.leaving_for = response.headers.get("Location")
    return response


def init_app(app: Flask) -> None:
    """Install the JSON reader and the hooks; call before any other ``before_request`` that
    reads the request (access checks, the audit trail)."""
    sort_keys = app.json.sort_keys
    app.json = StrictJSONProvider(app)
    app.json.sort_keys = sort_keys
    app.before_request(refuse_lone_surrogates)
    app.after_request(relative_location)
