"""Process definitions: deploy, list, fetch and validate diagrams (process owners)."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from service.access import access
from service.api import shapes
from service.api.requests import MAX_INT, body_of, is_whole_number
from service.api.schemas import (
    DefinitionPage,
    DeployQuery,
    DeployResult,
    SimulateIn,
    Simulation,
    ValidationReport,
    XmlQuery,
)
from service.auth import current_user
from service.context import services, uow
from service.errors import ApiError, error_response
from service.openapi import spec
from workflows import definitions
from workflows.errors import InvalidDefinition
from workflows.roles import PROCESS_OWNERS
from workflows.simulation import simulate
from workflows.validation import validate

bp = Blueprint("definitions", __name__)

XML_TYPES = ("application/xml", "text/xml", "application/bpmn+xml")
BPMN_BODY = {
    **{media: {"type": "string", "description": "one BPMN 2.0 file"} for media in XML_TYPES},
    "multipart/form-data": {
        "type": "object",
        "properties": {
            "file": {
                "type": "array",
                "items": {"type": "string", "format": "binary"},
                "description": "one or more .bpmn files",
            }
        },
    },
}
XML = {"application/xml": {"type": "string"}}


def _uploaded_files() -> list[tuple[str, bytes]]:
    """The diagrams of the request: an XML body, or one or more multipart ``.bpmn`` files."""
    if request.files:
        files = [(f.filename or "upload.bpmn", f.read()) for f in request.files.getlist("file")]
        files += [
            (f.filename or "upload.bpmn", f.read())
            for name, f in request.files.items(multi=True)
            if name != "file"
        ]
        for filename, _content in files:
            _check_filename(filename)
        return files
    mimetype = request.mimetype or ""
    if mimetype not in XML_TYPES:
        raise ApiError(
            415, "unsupported_media_type", "Send the BPMN as application/xml or multipart files."
        )
    content = request.get_data()
    if not content:
        raise ApiError(400, "bad_request", "The request body is empty.")
    filename = request.args.get("filename", "upload.bpmn")
    _check_filename(filename)
    return [(filename, content)]


def _check_filename(filename: str) -> None:
    if len(filename) > 400 or "\x00" in filename:
        message = "must be at most 400 characters, without NUL"
        raise ApiError(
            422,
            "invalid_input",
            "The file name is not valid.",
            [{"field": "filename", "message": message}],
        )


@bp.get("")
@access()
@spec("The latest version of each process definition", responses={200: DefinitionPage})
def list_definitions():
    rows = definitions.list_latest(uow().session)
    return jsonify({"items": [shapes.definition(r) for r in rows], "next_cursor": None})


@bp.get("/<key>/versions")
@access()
@spec("Every version of one process definition", responses={200: DefinitionPage})
def list_versions(key: str):
    rows = definitions.list_versions(uow().session, key)
    return jsonify({"items": [shapes.definition(r) for r in rows], "next_cursor": None})


@bp.get("/<key>/xml")
@access()
@spec("The BPMN of a definition as deployed", query=XmlQuery, responses={200: XML})
def get_xml(key: str):
    version = request.args.get("version")
    if version is not None and not (is_whole_number(version) and int(version) <= MAX_INT):
        raise ApiError(400, "bad_request", "version must be a whole number.")
    row = definitions.find(uow().session, key, int(version) if version else None)
    return Response(row.xml, mimetype="application/xml")


@bp.post("")
@access(*PROCESS_OWNERS)
@spec(
    "Deploy one or more diagrams",
    description="A body of XML, or multipart .bpmn files. Content equal to the latest version "
    "makes no new version (200). Invalid: 422 with details "
    "[{file, element_id, line, message, severity}].",
    body=BPMN_BODY,
    query=DeployQuery,
    responses={201: DeployResult, 200: DeployResult},
)
def deploy():
    files = _uploaded_files()
    unit = uow()
    engine = services().engine
    results, problems = [], []
    for filename, content in files:
        try:
            results.append(
                engine.deploy(unit, content, filename, deployed_by=current_user().username)
            )
        except InvalidDefinition as err:
            problems += [{"file": filename, **p.to_dict()} for p in err.problems]
    if problems:
        unit.rollback()
        return _invalid(problems)
    unit.commit()
    created = any(r.created for r in results)
    body = [dict(shapes.definition(r.definition), created=r.created) for r in results]
    return jsonify(body[0] if len(body) == 1 else {"items": body}), 201 if created else 200


@bp.post("/validate")
@access(*PROCESS_OWNERS)
@spec(
    "Check diagrams without deploying them",
    body=BPMN_BODY,
    query=DeployQuery,
    responses={200: ValidationReport},
)
def validate_only():
    problems = []
    for filename, content in _uploaded_files():
        try:
            engine = services().engine
            found = validate(
                content, filename, conventions=engine.conventions, now=engine.clock.now()
            ).warnings
        except InvalidDefinition as err:
            found = err.problems
        problems += [{"file": filename, **p.to_dict()} for p in found]
    return jsonify({"problems": problems})


@bp.post("/<key>/simulate")
@access(*PROCESS_OWNERS)
@spec("Run a diagram in memory along a path", body=SimulateIn, responses={200: Simulation})
def simulate_path(key: str):
    body = body_of(SimulateIn)
    _check_path(body["path"])
    row = definitions.find(uow().session, key, body.get("version"))
    spec, subprocess_specs = services().engine.specs.get(uow().session, row.id)
    result = simulate(
        spec, subprocess_specs, services().engine.script_engine, body["path"], body.get("variables")
    )
    return jsonify(result)


def _check_path(path: list) -> None:
    problems = []
    for index, step in enumerate(path):
        if not isinstance(step, dict) or not isinstance(step.get("element_id"), str):
            problems.append({"field": f"path[{index}]", "message": "needs an element_id string"})
            continue
        problems += [
            {"field": f"path[{index}].{name}", "message": "unknown field"}
            for name in step
            if name not in ("element_id", "data")
        ]
        if step.get("data") is not None and not isinstance(step["data"], dict):
            problems.append({"field": f"path[{index}].data", "message": "must be an object"})
    if problems:
        raise ApiError(422, "invalid_input", "Some fields are not valid.", problems)


def _invalid(problems: list[dict]):
    return error_response(422, "invalid_bpmn", "The diagram is not valid.", problems)
