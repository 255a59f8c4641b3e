"""``GET /api/openapi.json`` (the OpenAPI 3.1 document) and ``GET /api/docs`` (the same, as a page).

The document is built once per app, on first use (every blueprint is registered by then), from
each view's ``@access`` rule and ``@spec`` declaration (``service.openapi``). The page is plain
server-rendered HTML: no script, no CDN, so it works under the service's CSP.
"""

from __future__ import annotations

import json

from flask import Blueprint, current_app, jsonify, render_template

from service.access import access
from service.api.schemas import ErrorOut
from service.openapi import HTML, build_document, spec

bp = Blueprint("docs", __name__)
EXTENSION = "safeguard_openapi"


def document() -> dict:
    if EXTENSION not in current_app.extensions:
        current_app.extensions[EXTENSION] = build_document(current_app, ErrorOut)
    return current_app.extensions[EXTENSION]


@bp.get("/openapi.json")
@access(public=True)
@spec(
    "This API's OpenAPI 3.1 document",
    responses={200: {"application/json": {"type": "object"}}},
    tag="docs",
)
def openapi_json():
    return jsonify(document())


@bp.get("/docs")
@access(public=True)
@spec("This API's OpenAPI document, as a page", responses={200: HTML}, tag="docs")
def docs_page():
    doc = document()
    operations = []
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            operations.append(_operation_view(path, method, operation))
    schemas = [
        (name, json.dumps(schema, indent=1, ensure_ascii=False))
        for name, schema in doc["components"]["schemas"].items()
    ]
    return render_template("api_docs.html", doc=doc, operations=operations, schemas=schemas)


def _operation_view(path: str, method: str, operation: dict) -> dict:
    body = operation.get("requestBody", {}).get("content", {})
    return {
        "anchor": operation["operationId"],
        "method": method.upper(),
        "path": path,
        "summary": operation.get("summary", ""),
        "description": operation.get("description", ""),
        "tag": operation["tags"][0],
        "parameters": [
            (p["name"], p["in"], p["required"], _pretty(p["schema"]))
            for p in operation.get("parameters", [])
        ],
        "body": [(media, _pretty(content["schema"])) for media, content in body.items()],
        "responses": [
            (
                status,
                response["description"],
                [(m, _pretty(c["schema"])) for m, c in response.get("content", {}).items()],
            )
            for status, response in operation["responses"].items()
        ],
    }


def _pretty(schema: dict) -> dict:
    """A schema for the page: the name of a component (a link), or the schema itself."""
    if set(schema) == {"$ref"}:
        return {"ref": schema["$ref"].rsplit("/", 1)[-1], "text": ""}
    return {"ref": None, "text": json.dumps(schema, indent=1, ensure_ascii=False)}
