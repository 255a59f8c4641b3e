"""The ``safeguard`` command (api.md, "Command line")."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import click

from records.retention import plan, purge
from records.sealing import AUDIT, REGISTER, check, seal
from service.app import create_app
from service.cli_admin import agencies, audit, session_factory, users
from service.config import ConfigError, settings
from service.context import deploy_rules
from service.scheduling import start_scheduler
from storage import UnitOfWork
from storage.database import database_url
from workflows.clock import SystemClock
from workflows.errors import ERROR, InvalidDefinition, Problem
from workflows.file_deploys import DEPLOYED, REFUSED, deploy_file
from workflows.instances import Engine
from workflows.rules import DeployRules
from workflows.validation import validate as validate_diagram


@click.group()
@click.pass_context
def main(ctx: click.Context) -> None:
    """safeguard-flow: information-sharing processes for a safeguarding partnership."""
    # Every setting is checked before any command runs: a bad one is one line and status 2.
    try:
        ctx.obj = settings()
    except ConfigError as err:
        click.echo(f"safeguard: {err}", err=True)
        ctx.exit(2)


def _settings() -> dict:
    """This run's checked settings (the environment's over ``Config``'s defaults)."""
    return click.get_current_context().find_root().obj


def _setting(name: str):
    return _settings()[name]


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the database named by DATABASE_URL."""
    from storage.migrate import upgrade

    upgrade()
    click.echo(f"database is up to date: {_safe_url(database_url())}")


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def _bpmn_files(paths: tuple[str, ...]) -> list[Path]:
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files += sorted(path.glob("*.bpmn"))
        elif path.exists():
            files.append(path)
        else:
            raise click.BadParameter(f"{raw} does not exist", param_hint="FILE")
    return files


CONVENTIONS = click.option(
    "--conventions/--no-conventions",
    default=None,
    help="Also require a role, a form and a due time on every user task "
    "(default: DIAGRAM_CONVENTIONS, on unless set to false).",
)


def _rules(conventions: bool | None) -> DeployRules:
    """The service's deploy rules, with the conventions switched as the command line asks."""
    rules = deploy_rules(_settings())
    return rules if conventions is None else replace(rules, conventions=conventions)


def _echo_problems(path: Path, problems: list[Problem]) -> None:
    """One line a problem, ``file:line [element]: message`` (warnings marked), as the modeller
    lists them."""
    for p in problems:
        where = f":{p.line}" if p.line else ""
        element = f" [{p.element_id}]" if p.element_id else ""
        marked = "" if p.severity == ERROR else f"{p.severity}: "
        click.echo(f"  {path}{where}{element}: {marked}{p.message}", err=True)


@main.command()
@click.argument("paths", nargs=-1, required=True)
@CONVENTIONS
def validate(paths: tuple[str, ...], conventions: bool | None) -> None:
    """Check BPMN files (or every .bpmn file of a directory) without deploying; exit 1 if any
    has an error. Prints every problem of each file: the same list as the modeller's."""
    rules = _rules(conventions)
    failed = False
    for path in _bpmn_files(paths):
        try:
            parsed = validate_diagram(path.read_bytes(), path.name, conventions=rules)
        except InvalidDefinition as err:
            failed = True
            click.echo(f"{path}: not valid, {len(err.problems)} problem(s):", err=True)
            _echo_problems(path, err.problems)
            continue
        click.echo(f"{path}: {parsed.key} is valid")
        _echo_problems(path, parsed.warnings)
    if failed:
        sys.exit(1)


@main.command()
@click.argument("paths", nargs=-1, required=True)
@click.option("--by", "deployed_by", default=None, help="Who is deploying (for the record).")
@click.option(
    "--force",
    is_flag=True,
    help="Deploy a changed file even when the latest version was made in the modeller or "
    "through the API (it would otherwise be refused: the file would undo that version).",
)
@CONVENTIONS
def deploy(
    paths: tuple[str, ...], deployed_by: str | None, force: bool, conventions: bool | None
) -> None:
    """Deploy BPMN files (or every .bpmn file of a directory).

    A file makes a new version only when it changed since it was last deployed from disk, and
    never over a version made in the modeller without --force (README, "Diagrams on disk and
    in the modeller"). Exit 1 if any file was invalid or refused."""

    engine = Engine(conventions=_rules(conventions))
    failed = False
    files = _bpmn_files(paths)
    if not files:
        click.echo("no .bpmn files to deploy")
    for path in files:
        with UnitOfWork(session_factory()) as uow:
            try:
                result = deploy_file(
                    uow, engine, path.read_bytes(), path.name, deployed_by, force=force
                )
            except InvalidDefinition as err:
                failed = True
                click.echo(f"{path}: not deployed, {len(err.problems)} problem(s):", err=True)
                _echo_problems(path, err.problems)
                continue
            d = result.definition
            if result.state == REFUSED:
                failed = True
                click.echo(f"{path}: not deployed: {result.reason}", err=True)
                continue
            if result.state == DEPLOYED:
                audit(uow, "cli.deploy", {"key": d.key, "file": path.name, "force": force})
            uow.commit()
        reason = f": {result.reason}" if result.reason else ""
        click.echo(f"{path}: {d.key} version {d.version} ({result.state}{reason})")
    if failed:
        sys.exit(1)


main.add_command(users)
main.add_command(agencies)


@main.group("audit")
def audit_group() -> None:
    """The audit trail."""


# What ``audit verify`` checks, and what it calls them.
_CHAINS = ((AUDIT, "audit trail", "event"), (REGISTER, "sharing register", "entry"))


@audit_group.command("verify")
def audit_verify() -> None:
    """Recompute the audit trail's and the sharing register's hash chains against the published
    heads and check nothing stays unsealed past AUDIT_SEAL_BOUND_SECONDS; exit 1 and say what is
    wrong otherwise."""

    bound = _setting("AUDIT_SEAL_BOUND_SECONDS")
    heads_file = _setting("AUDIT_HEADS_FILE")
    intact = True
    with UnitOfWork(session_factory()) as uow:
        for chain, title, one in _CHAINS:
            report = check(uow.session, SystemClock().now(), bound, heads_file, chain)
            intact = _say(report, title, (one, chain.noun), bound) and intact
    if not intact:
        sys.exit(1)


def _say(report: dict, title: str, nouns: tuple[str, str], bound: float) -> bool:
    """Print one chain's check; whether it is intact."""
    one, noun = nouns
    unsealed = f"{report['unsealed']} not sealed yet"
    if report["ok"]:
        click.echo(f"{title} intact: {report['checked']} {noun} checked, {unsealed}")
        return True
    broken = report.get("broken_at")
    if broken:
        click.echo(
            f"{title} BROKEN at {one} {broken['seq']}: "
            f"{broken['reason']} ({report['checked']} {noun} before it are intact)",
            err=True,
        )
    late = report.get("late")
    if late:
        click.echo(
            f"{title} NOT SEALED: {late['count']} {noun} unsealed for longer than "
            f"{bound:g} s, the oldest from {late['oldest_at']}",
            err=True,
        )
    return False


@audit_group.command("seal")
def audit_seal() -> None:
    """Chain the audit events and register entries not sealed yet now (the serving processes
    do it every few seconds)."""

    result = seal(
        session_factory(),
        SystemClock().now(),
        batch=_setting("AUDIT_SEAL_BATCH"),
        heads_file=_setting("AUDIT_HEADS_FILE"),
    )
    if result.busy:
        click.echo("another sealer is at work; its batch will be done shortly")
    click.echo(
        f"sealed {result.events} events ({result.batches} batches), up to {result.head_seq}; "
        f"{result.entries} register entries, up to {result.register_seq}"
    )


@main.command()
@click.option("--dry-run", is_flag=True, help="List what would be purged; change nothing.")
def retention(dry_run: bool) -> None:
    """Purge closed cases' data past its retention period (RETENTION_*_DAYS)."""
    import hashlib

    days = _setting("RETENTION_DAYS")
    now = SystemClock().now()
    seal(session_factory(), now, heads_file=_setting("AUDIT_HEADS_FILE"))
    click.echo("retention periods (days): " + ", ".join(f"{k} {v}" for k, v in days.items()))
    with UnitOfWork(session_factory()) as uow:
        plans = plan(uow.session, now, days)
        for case_plan in plans:
            click.echo(("would purge " if dry_run else "purging ") + case_plan.describe())
        if dry_run:
            audit(uow, "cli.retention.dry_run", {"cases": len(plans)})
            uow.commit()
            click.echo(f"dry run: {len(plans)} closed case(s) have data past retention")
            return
        totals = purge(uow.session, plans, now)
        stones = totals.pop("register_tombstones")
        digest = hashlib.sha256("".join(stones).encode()).hexdigest() if stones else None
        audit(uow, "cli.retention", {**totals, "days": days, "tombstones_sha256": digest})
        uow.commit()
    click.echo("purged: " + ", ".join(f"{k} {v}" for k, v in totals.items()))


@main.command()
@click.option("--host", default="127.0.0.1")
@click.option("--port", default=5000, type=int)
@click.option("--threads", default=8, type=int)
def serve(host: str, port: int, threads: int) -> None:
    """Run the web service on a production WSGI server (waitress)."""
    from waitress import serve as waitress_serve

    app = create_app()
    scheduler = start_scheduler(app)
    click.echo(f"safeguard-flow listening on http://{host}:{port}")
    try:
        waitress_serve(app, host=host, port=port, threads=threads)
    finally:
        scheduler.shutdown(wait=False)
        app.extensions["safeguard"].audit_queue.close()  # queued read events are kept


if __name__ == "__main__":
    main()
