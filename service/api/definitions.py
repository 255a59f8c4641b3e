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
    Diff,
    DiffQuery,
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
from workflows.diffing import compare
from workflows.errors import InvalidDefinition, NotFound
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
NOTE_LENGTH = 2000


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


@bp.get("/<key>/versions/<version>/xml")
@access()
@spec(
    "Download one version's BPMN as deployed (the modeller's Export)",
    description="The stored bytes, as a file named as the diagram was deployed: put back in "
    'bpmn/, it is recognised as that version (README, "Diagrams on disk and in the modeller").',
    responses={200: XML},
    errors=(422,),
)
def download_xml(key: str, version: str):
    # A plain path segment, not <int:>: a converter's 404 would come before the access check.
    number = _version_number("version", version)
    if number > MAX_INT:  # no such version, and more than the database's INTEGER holds
        raise NotFound(f"version {version} of process {key!r} is not deployed")
    row = definitions.find(uow().session, key, number)
    filename = (row.filename or f"{key}.bpmn").replace('"', "")
    return Response(
        row.xml,
        mimetype="application/xml",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@bp.get("/<key>/diff")
@access()
@spec(
    "What changed between two versions, element by element",
    description="Steps added, removed or renamed; form fields added, removed or changed; due "
    "times, candidate groups, lanes, conditions, timers and scripts changed, each with before "
    "and after and a sentence. Layout is not compared. Default: the latest version against "
    "the one before it.",
    query=DiffQuery,
    responses={200: Diff},
    errors=(422,),
)
def diff_versions(key: str):
    found = compare(uow().session, key, _version_query("from"), _version_query("to"))
    changes = [change.to_dict() for change in found.changes]
    return jsonify(
        {"key": key, "from": found.old.version, "to": found.new.version, "changes": changes}
    )


def _version_query(name: str) -> int | None:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return None
    number = _version_number(name, raw)
    if number > MAX_INT:
        _not_a_version(name)
    return number


def _version_number(name: str, raw: str) -> int:
    """``raw`` as a version number (1 or more); 422 naming ``name`` if it is not one."""
    if not (is_whole_number(raw) and int(raw) >= 1):
        _not_a_version(name)
    return int(raw)


def _not_a_version(name: str) -> None:
    message = "must be a version number (a whole number from 1)"
    raise ApiError(
        422, "invalid_input", "Some fields are not valid.", [{"field": name, "message": message}]
    )


def _note() -> str | None:
    """The change note of a deploy: ``?note=``, or a ``note`` field of a multipart upload."""
    note = request.args.get("note") or request.form.get("note")
    if note is not None and (len(note) > NOTE_LENGTH or "\x00" in note):
        message = f"must be at most {NOTE_LENGTH} characters, without NUL"
        raise ApiError(
            422,
            "invalid_input",
            "Some fields are not valid.",
            [{"field": "note", "message": message}],
        )
    return note


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
    note = _note()
    unit = uow()
    engine = services().engine
    results, problems = [], []
    for filename, content in files:
        try:
            results.append(
                engine.deploy(
                    unit, content, filename, deployed_by=current_user().username, note=note
                )
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
