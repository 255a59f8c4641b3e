"""The ``safeguard`` command (api.md, "Command line")."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click
from sqlalchemy import select

from records.audit import Intent, append
from records.retention import plan, purge
from records.sealing import AUDIT, REGISTER, check, seal
from service.app import create_app
from service.config import Config, retention_days
from service.context import deploy_rules
from service.scheduling import start_scheduler
from service.users import create_user, seed_demo
from storage import UnitOfWork, make_engine, make_session_factory
from storage.database import database_url
from storage.models import User
from workflows.clock import SystemClock
from workflows.errors import InvalidDefinition
from workflows.instances import Engine


def _session_factory():
    return make_session_factory(make_engine())


@click.group()
def main() -> None:
    """safeguard-flow: information-sharing processes for a safeguarding partnership."""


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


@main.command()
@click.argument("paths", nargs=-1, required=True)
@click.option("--by", "deployed_by", default=None, help="Who is deploying (for the record).")
def deploy(paths: tuple[str, ...], deployed_by: str | None) -> None:
    """Deploy BPMN files (or every .bpmn file of a directory)."""

    engine = Engine(conventions=deploy_rules(Config))
    failed = False
    files = _bpmn_files(paths)
    if not files:
        click.echo("no .bpmn files to deploy")
    for path in files:
        with UnitOfWork(_session_factory()) as uow:
            try:
                result = engine.deploy(uow, path.read_bytes(), path.name, deployed_by)
            except InvalidDefinition as err:
                failed = True
                click.echo(f"{path}: not deployed, {len(err.problems)} problem(s):", err=True)
                for p in err.problems:
                    where = f":{p.line}" if p.line else ""
                    element = f" [{p.element_id}]" if p.element_id else ""
                    click.echo(f"  {path}{where}{element}: {p.message}", err=True)
                continue
            if result.created:
                _audit(uow, "cli.deploy", {"key": result.definition.key, "file": path.name})
            uow.commit()
        d = result.definition
        state = "deployed" if result.created else "unchanged"
        click.echo(f"{path}: {d.key} version {d.version} ({state})")
    if failed:
        sys.exit(1)


def _audit(uow: UnitOfWork, action: str, detail: dict) -> None:
    """Changes made at the command line are events of the audit trail like any other."""
    import getpass

    actor = f"cli:{getpass.getuser()}"[:80]
    intent = Intent(action=action, actor=actor, remote_addr=None, detail=detail)
    append(uow.session, intent, SystemClock().now())


@main.group()
def users() -> None:
    """People and their roles."""


@users.command("add")
@click.argument("username")
@click.option("--role", "roles", multiple=True, required=True)
@click.option("--agency", default=None)
@click.option("--manager", default=None)
@click.option("--email", default=None)
@click.option("--name", "display_name", default=None)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def users_add(username, roles, agency, manager, email, display_name, password_stdin) -> None:
    """Add a user (asks for the password unless --password-stdin)."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    if len(password) < 12:
        raise click.ClickException("the password must be at least 12 characters")
    with UnitOfWork(_session_factory()) as uow:
        try:
            create_user(
                uow.session,
                SystemClock(),
                username,
                roles=list(roles),
                password=password,
                display_name=display_name,
                agency=agency,
                email=email,
                manager=manager,
            )
        except ValueError as err:
            raise click.ClickException(str(err)) from None
        _audit(uow, "cli.users.add", {"username": username, "roles": list(roles)})
        uow.commit()
    click.echo(f"added {username} ({', '.join(roles)})")


@users.command("list")
def users_list() -> None:
    with UnitOfWork(_session_factory()) as uow:
        for user in uow.session.scalars(select(User).order_by(User.username)):
            state = "" if user.active else " (disabled)"
            click.echo(f"{user.username}\t{','.join(user.roles)}\t{user.agency or '-'}{state}")


@users.command("disable")
@click.argument("username")
def users_disable(username: str) -> None:
    with UnitOfWork(_session_factory()) as uow:
        user = uow.session.scalar(select(User).where(User.username == username))
        if user is None:
            raise click.ClickException(f"no user called {username!r}")
        user.active = False
        _audit(uow, "cli.users.disable", {"username": username})
        uow.commit()
    click.echo(f"disabled {username}")


@users.command("seed-demo")
@click.option("--url", default="http://127.0.0.1:5000", help="Where the service will listen.")
def users_seed_demo(url: str) -> None:
    """Create one demo user per role and print their one-time passwords (once)."""
    with UnitOfWork(_session_factory()) as uow:
        created = seed_demo(uow.session, SystemClock())
        if created:
            _audit(uow, "cli.users.seed_demo", {"usernames": [c[0] for c in created]})
        uow.commit()
    if created:
        click.echo("Demo users (one-time passwords, shown only now):")
        for username, roles, password in created:
            click.echo(f"  {username:<18} {roles:<14} {password}")
    else:
        click.echo("Demo users already exist; their passwords were printed when they were made.")
    click.echo(f"Log in at {url}/login (API: POST {url}/api/auth/token)")


@main.group()
def audit() -> None:
    """The audit trail."""


# What ``audit verify`` checks, and what it calls them.
_CHAINS = ((AUDIT, "audit trail", "event"), (REGISTER, "sharing register", "entry"))


@audit.command("verify")
def audit_verify() -> None:
    """Recompute the audit trail's and the sharing register's hash chains against the published
    heads and check nothing stays unsealed past AUDIT_SEAL_BOUND_SECONDS; exit 1 and say what is
    wrong otherwise."""

    bound = float(os.environ.get("AUDIT_SEAL_BOUND_SECONDS") or Config.AUDIT_SEAL_BOUND_SECONDS)
    heads_file = os.environ.get("AUDIT_HEADS_FILE") or None
    intact = True
    with UnitOfWork(_session_factory()) as uow:
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


@audit.command("seal")
def audit_seal() -> None:
    """Chain the audit events and register entries not sealed yet now (the serving processes
    do it every few seconds)."""

    result = seal(
        _session_factory(),
        SystemClock().now(),
        batch=Config.AUDIT_SEAL_BATCH,
        heads_file=os.environ.get("AUDIT_HEADS_FILE") or None,
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

    days = retention_days()
    now = SystemClock().now()
    seal(_session_factory(), now, heads_file=os.environ.get("AUDIT_HEADS_FILE") or None)
    click.echo("retention periods (days): " + ", ".join(f"{k} {v}" for k, v in days.items()))
    with UnitOfWork(_session_factory()) as uow:
        plans = plan(uow.session, now, days)
        for case_plan in plans:
            click.echo(("would purge " if dry_run else "purging ") + case_plan.describe())
        if dry_run:
            _audit(uow, "cli.retention.dry_run", {"cases": len(plans)})
            uow.commit()
            click.echo(f"dry run: {len(plans)} closed case(s) have data past retention")
            return
        totals = purge(uow.session, plans, now)
        stones = totals.pop("register_tombstones")
        digest = hashlib.sha256("".join(stones).encode()).hexdigest() if stones else None
        _audit(uow, "cli.retention", {**totals, "days": days, "tombstones_sha256": digest})
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
