"""Deploying from files on disk (``safeguard deploy``, ``make run``) never overrides the browser.

``make run`` and ``make serve-prod`` deploy ``bpmn/`` at every start. Deploying a file whenever
the latest version differed from it undid every edit made in the modeller at the next restart.
The rule (README, "Diagrams on disk and in the modeller"):

1. A file makes a new version only when the file itself changed since it was last deployed from
   disk (each version keeps the hash of the file it came from, ``file_hash``). A file as it was
   at its last deploy is left alone, whatever the latest version is.
2. A file equal to the latest version is recorded as that version's file, and makes none.
3. A changed file is refused when the latest version did not come from a file (the modeller or
   the API made it): deploying it would undo that version. ``--force`` deploys it anyway.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import ProcessDefinition
from workflows.definitions import FILE, content_hash
from workflows.validation import validate

DEPLOYED, UNCHANGED, REFUSED = "deployed", "unchanged", "refused"


@dataclass
class FileDeploy:
    """What became of one file: its ``state``, the version that stands, and why in words."""

    state: str
    definition: ProcessDefinition
    reason: str = ""


def deploy_file(
    uow, engine, content: bytes, filename: str, deployed_by: str | None, *, force: bool = False
) -> FileDeploy:
    """Deploy ``content`` read from the file ``filename`` when the rule above allows it.

    Raises :class:`~workflows.errors.InvalidDefinition` for an invalid file, as a deploy does."""
    parsed = validate(content, filename, conventions=engine.conventions, now=engine.clock.now())
    digest = content_hash(content)
    versions = _versions(uow.session, parsed.key)
    if not versions:
        return _deploy(uow, engine, content, filename, deployed_by)
    newest = versions[-1]
    from_disk = [v for v in versions if v.file_hash]
    if from_disk and from_disk[-1].file_hash == digest:
        return FileDeploy(UNCHANGED, newest, _kept(from_disk[-1], newest))
    if newest.content_hash == digest:
        newest.file_hash = digest  # the file now holds this version
        return FileDeploy(UNCHANGED, newest)
    same = [v for v in versions if v.content_hash == digest]
    if not from_disk and same:  # deployed before the files were recorded (migration 0019)
        same[-1].file_hash = digest
        return FileDeploy(UNCHANGED, newest, _kept(same[-1], newest))
    if newest.file_hash is None and not force:
        return FileDeploy(REFUSED, newest, _refusal(from_disk, newest))
    return _deploy(uow, engine, content, filename, deployed_by)


def _versions(session: Session, key: str) -> list[ProcessDefinition]:
    return list(
        session.scalars(
            select(ProcessDefinition)
            .where(ProcessDefinition.key == key)
            .order_by(ProcessDefinition.version)
        )
    )


def _deploy(uow, engine, content: bytes, filename: str, deployed_by: str | None) -> FileDeploy:
    result = engine.deploy(uow, content, filename, deployed_by, source=FILE)
    return FileDeploy(DEPLOYED if result.created else UNCHANGED, result.definition)


def made_where(row: ProcessDefinition) -> str:
    """Where a version was made, in words: from a file, or in the modeller or the API."""
    who = f" by {row.deployed_by}" if row.deployed_by else ""
    if row.source == FILE:
        return f"deployed from a file{who}"
    if row.source is None:
        return f"deployed{who} before the service recorded where versions came from"
    return f"deployed in the modeller or through the API{who}"


def _kept(from_file: ProcessDefinition, newest: ProcessDefinition) -> str:
    if from_file.version == newest.version:
        return ""
    return (
        f"the file is as deployed in version {from_file.version}; version {newest.version}, "
        f"{made_where(newest)}, is kept"
    )


def _refusal(from_disk: list[ProcessDefinition], newest: ProcessDefinition) -> str:
    since = (
        f"the file changed since version {from_disk[-1].version} was deployed from it"
        if from_disk
        else "the file differs from every version"
    )
    when = newest.deployed_at.strftime("%d %b %Y %H:%M UTC")
    return (
        f"{since}, and the latest version, {newest.version}, was {made_where(newest)} on "
        f"{when}: deploying the file would undo it. Export version {newest.version} from the "
        f"modeller into the file and make the change there, or deploy with --force to make "
        f"the file version {newest.version + 1}."
    )
