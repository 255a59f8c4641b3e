"""Deployed versions of diagrams, and the cache of their parsed specs.

A version is immutable once stored, so a parsed spec can be shared by every instance of that
version in this process for as long as the process lives.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from storage.models import ProcessDefinition
from workflows.clock import Clock
from workflows.dialects import form_properties_as_camunda
from workflows.errors import Conflict, NotFound
from workflows.parsing import SafeguardParser, parse_xml
from workflows.rules import DeployRules
from workflows.validation import ParsedDefinition, validate

FILE = "file"  # deployed from a file on disk: `safeguard deploy`, `make run`
API = "api"  # deployed through the service: the modeller or an API client


@dataclass
class DeployResult:
    definition: ProcessDefinition
    created: bool


def content_hash(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


class SpecCache:
    """Parsed ``(spec, subprocess_specs)`` per definition id, and each definition's version.

    A deployed version never changes, so both are read at most once per process: the version
    is what an instance's answer names (``definition_version``), known here without a read.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._specs: dict[str, tuple] = {}
        self._versions: dict[str, int] = {}

    def put(self, definition_id: str, specs: tuple, version: int | None = None) -> None:
        with self._lock:
            self._specs[definition_id] = specs
            if version is not None:
                self._versions[definition_id] = version

    def note_version(self, definition_id: str, version: int) -> None:
        """Remember a version number read with the definition's id (a start's lookup), so the
        answer that names it needs no read of its own."""
        self._versions[definition_id] = version

    def peek(self, definition_id: str) -> tuple:
        return self._specs[definition_id]

    def get(self, session: Session, definition_id: str) -> tuple:
        specs = self._specs.get(definition_id)
        if specs is None:
            definition = session.get(ProcessDefinition, definition_id)
            if definition is None:
                raise NotFound(f"process definition {definition_id} does not exist")
            specs = parse_stored(definition)
            self.put(definition_id, specs, definition.version)
        return specs

    def version(self, session: Session, definition_id: str) -> int | None:
        """The version number of ``definition_id`` (``None``: no such definition)."""
        found = self._versions.get(definition_id)
        if found is None:
            found = session.scalar(
                select(ProcessDefinition.version).where(ProcessDefinition.id == definition_id)
            )
            if found is not None:
                self.note_version(definition_id, found)
        return found


def parse_stored(definition: ProcessDefinition) -> tuple:
    """Parse a version that passed validation when it was deployed."""
    parser = SafeguardParser()
    root = parse_xml(definition.xml.encode("utf-8")).getroot()
    form_properties_as_camunda(root)  # read as when it was validated
    parser.add_bpmn_xml(root, definition.filename)
    return parser.get_spec(definition.key), parser.get_subprocess_specs(definition.key)


def latest(session: Session, key: str) -> ProcessDefinition | None:
    return session.scalars(
        select(ProcessDefinition)
        .where(ProcessDefinition.key == key)
        .order_by(ProcessDefinition.version.desc())
        .limit(1)
    ).first()


def find(session: Session, key: str, version: int | None = None) -> ProcessDefinition:
    """The named version of ``key``, or its latest; :class:`NotFound` when there is none."""
    if version is None:
        definition = latest(session, key)
    else:
        definition = session.scalars(
            select(ProcessDefinition).where(
                ProcessDefinition.key == key, ProcessDefinition.version == version
            )
        ).first()
    if definition is None:
        which = f"version {version} of " if version is not None else ""
        raise NotFound(f"{which}process {key!r} is not deployed")
    return definition


def list_latest(session: Session) -> list[ProcessDefinition]:
    newest = (
        select(ProcessDefinition.key, func.max(ProcessDefinition.version).label("version"))
        .group_by(ProcessDefinition.key)
        .subquery()
    )
    return list(
        session.scalars(
            select(ProcessDefinition)
            .join(
                newest,
                (ProcessDefinition.key == newest.c.key)
                & (ProcessDefinition.version == newest.c.version),
            )
            .order_by(ProcessDefinition.key)
        )
    )


def list_versions(session: Session, key: str) -> list[ProcessDefinition]:
    versions = list(
        session.scalars(
            select(ProcessDefinition)
            .where(ProcessDefinition.key == key)
            .order_by(ProcessDefinition.version)
        )
    )
    if not versions:
        raise NotFound(f"process {key!r} is not deployed")
    return versions


def deploy(
    session: Session,
    content: bytes,
    *,
    filename: str,
    deployed_by: str | None,
    clock: Clock,
    cache: SpecCache,
    conventions: bool | DeployRules = False,
    source: str = API,
    note: str | None = None,
) -> DeployResult:
    """Validate and store a new version; identical content to the latest version is a no-op.

    ``conventions``: a flag, or the service's :class:`~workflows.rules.DeployRules`; timer dates
    are checked against ``clock``'s present. ``source``: :data:`FILE` when the content was read
    from a file on disk (its hash is then kept as the version's ``file_hash``, for the rule of
    workflows/file_deploys.py), else :data:`API`. ``note``: the change note of the version."""
    parsed: ParsedDefinition = validate(content, filename, conventions=conventions, now=clock.now())
    digest = content_hash(content)
    current = latest(session, parsed.key)
    if current is not None and current.content_hash == digest:
        return DeployResult(current, created=False)
    definition = ProcessDefinition(
        key=parsed.key,
        version=(current.version + 1) if current else 1,
        name=parsed.name,
        filename=filename,
        xml=content.decode("utf-8"),
        content_hash=digest,
        deployed_by=deployed_by,
        deployed_at=clock.now(),
        source=source,
        file_hash=digest if source == FILE else None,
        note=(note or "").strip() or None,
    )
    session.add(definition)
    try:
        session.flush()
    except IntegrityError:
        raise Conflict(
            f"another version of {parsed.key!r} was deployed at the same time; try again"
        ) from None
    cache.put(definition.id, (parsed.spec, parsed.subprocess_specs), definition.version)
    return DeployResult(definition, created=True)
