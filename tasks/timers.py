"""The durable timers table: write a timer, cancel it, claim the due ones, record the outcome.

The table is the source of truth; the in-process scheduler (``tasks/scheduler.py``) is only the
alarm clock that says when to look. Claiming marks due rows ``claimed`` for a worker until a
lease expires:

- on PostgreSQL ``SELECT … FOR UPDATE SKIP LOCKED LIMIT n`` then ``UPDATE`` of those ids, so
  concurrent workers in several processes each get different rows and never wait on each other;
- on SQLite one ``UPDATE … WHERE id IN (SELECT … LIMIT n)`` statement takes the write lock, so
  even two schedulers on one file cannot claim the same row (one scheduler per file is intended).

A worker that dies while firing leaves rows ``claimed``; once their lease has expired they are
claimable again. ``mark_fired``/``mark_failed`` only touch a row still claimed by the caller, in
the same transaction as the handler's own writes, so a handler whose lease was taken over has
its work rolled back instead of done twice.

Statuses: ``pending`` → ``claimed`` → ``fired``; ``cancelled`` (no longer wanted); ``failed``
(given up after retries). A failed attempt with a retry goes back to ``pending`` at a later time.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from storage.models import Timer, new_id

KINDS = ("task_due", "task_reminder", "task_escalation", "bpmn_timer")
PENDING, CLAIMED, FIRED, CANCELLED, FAILED = "pending", "claimed", "fired", "cancelled", "failed"
LIVE = (PENDING, CLAIMED)
MAX_ERROR_CHARS = 4000


def schedule(
    session: Session,
    kind: str,
    due_at: datetime,
    *,
    instance_id: str | None = None,
    task_id: str | None = None,
    payload: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> Timer:
    """Add a pending timer to the caller's transaction (it exists once the caller commits).

    After committing, the caller tells the scheduler (``scheduler.rearm(due_at)``, e.g. through
    ``uow.on_commit``) so that a timer sooner than anything armed is not left to the sweep.
    """
    if due_at.tzinfo is None:
        raise ValueError("due_at must be timezone-aware")
    timer = Timer(
        id=new_id(),
        kind=kind,
        due_at=due_at,
        instance_id=instance_id,
        task_id=task_id,
        payload=payload,
        status=PENDING,
        attempts=0,
        created_at=now or datetime.now(UTC),
    )
    session.add(timer)
    session.flush([timer])
    return timer


def schedule_many(
    session: Session, wanted: list[tuple[str, datetime, dict[str, Any]]], now: datetime
) -> list[Timer]:
    """:func:`schedule` for several timers ``(kind, due_at, fields)``, flushed together: the
    unit of work sends rows of one table with their ids as one batched ``INSERT``."""
    rows = []
    for kind, due_at, fields in wanted:
        if due_at.tzinfo is None:
            raise ValueError("due_at must be timezone-aware")
        rows.append(
            Timer(id=new_id(), kind=kind, due_at=due_at, status=PENDING, attempts=0,
                  created_at=now, **fields)
        )  # fmt: skip
    session.add_all(rows)
    session.flush(rows)
    return rows


def cancel_for_task(session: Session, task_id: str, kinds: Iterable[str] | None = None) -> int:
    """Cancel the live timers of a task (it was completed or cancelled); how many were cancelled.

    A claimed timer is cancelled too: if its handler is still running, its ``mark_fired`` finds
    the row no longer claimed and the handler's work is rolled back — cancelling wins.
    """
    conditions = [Timer.task_id == task_id, Timer.status.in_(LIVE)]
    if kinds is not None:
        conditions.append(Timer.kind.in_(list(kinds)))
    return _cancel(session, conditions)


def cancel_for_instance(session: Session, instance_id: str, keep: str | None = None) -> int:
    """Cancel every live timer of an instance (it ended or was cancelled); ``keep``: the timer
    whose firing ended it, which its worker is about to mark fired (cancelled, the firing
    would be rolled back and retried for ever)."""
    conditions = [Timer.instance_id == instance_id, Timer.status.in_(LIVE)]
    if keep is not None:
        conditions.append(Timer.id != keep)
    return _cancel(session, conditions)


def _cancel(session: Session, conditions: list) -> int:
    statement = (
        update(Timer)
        .where(*conditions)
        .values(status=CANCELLED, claimed_by=None, claimed_until=None)
        .execution_options(synchronize_session=False)
    )
    return session.execute(statement).rowcount


def earliest_pending(session: Session) -> datetime | None:
    """When the scheduler must next look: the earliest pending due time or claim lease expiry.

    Both are ``MIN`` over an index prefix (``status, due_at``) or a handful of claimed rows.
    """
    due = session.scalar(select(func.min(Timer.due_at)).where(Timer.status == PENDING))
    lease = session.scalar(select(func.min(Timer.claimed_until)).where(Timer.status == CLAIMED))
    candidates = [t for t in (due, lease) if t is not None]
    return min(candidates) if candidates else None


def claim_due(
    session: Session, now: datetime, worker_id: str, limit: int, lease: timedelta
) -> list[Timer]:
    """Claim up to ``limit`` timers due at ``now`` (and claims whose lease expired), oldest first.

    The caller commits straight away so other workers see the claims; the rows are then fired
    one transaction each.
    """
    due = or_(
        and_(Timer.status == PENDING, Timer.due_at <= now),
        and_(Timer.status == CLAIMED, Timer.claimed_until <= now),
    )
    candidates = select(Timer.id).where(due).order_by(Timer.due_at).limit(limit)
    if session.get_bind().dialect.name == "postgresql":
        # Lock first, then update the locked ids. An ``IN (SELECT … LIMIT n FOR UPDATE SKIP
        # LOCKED)`` subquery may be re-run by the planner and claim more than ``n`` rows.
        ids = list(session.scalars(candidates.with_for_update(skip_locked=True)))
        if not ids:
            return []
        chosen = Timer.id.in_(ids)
    else:
        chosen = Timer.id.in_(candidates.scalar_subquery())
    statement = (
        update(Timer)
        .where(chosen, due)
        .values(
            status=CLAIMED,
            claimed_by=worker_id,
            claimed_until=now + lease,
            attempts=Timer.attempts + 1,
        )
        .returning(Timer)
        .execution_options(synchronize_session=False)
    )
    timers = list(session.scalars(statement))
    timers.sort(key=lambda t: (t.due_at, t.id))
    return timers


def mark_fired(session: Session, timer: Timer, now: datetime) -> bool:
    """Record that ``timer`` fired; ``False`` if the caller no longer holds its claim.

    Run it in the handler's transaction: on ``False`` the caller must roll back, because
    another worker took the timer over (lease expired) or it was cancelled meanwhile.
    """
    return _finish(session, timer, status=FIRED, fired_at=now, last_error=None)


def mark_failed(
    session: Session, timer: Timer, now: datetime, error: str, retry_at: datetime | None
) -> bool:
    """Record a failed attempt: back to ``pending`` at ``retry_at``, or ``failed`` when ``None``.

    The error text is kept on the row (``last_error``), so a stuck timer says why.
    """
    values: dict[str, Any] = {"last_error": error[:MAX_ERROR_CHARS]}
    if retry_at is None:
        values["status"] = FAILED
        values["fired_at"] = None
    else:
        values["status"] = PENDING
        values["due_at"] = retry_at
    return _finish(session, timer, **values)


def _finish(session: Session, timer: Timer, **values: Any) -> bool:
    statement = (
        update(Timer)
        .where(
            Timer.id == timer.id,
            Timer.status == CLAIMED,
            Timer.claimed_by == timer.claimed_by,
            Timer.claimed_until == timer.claimed_until,
        )
        .values(claimed_by=None, claimed_until=None, **values)
        .execution_options(synchronize_session=False)
    )
    return session.execute(statement).rowcount == 1


def pending_for_instance(session: Session, instance_id: str, kind: str | None = None) -> list:
    """The live timers of an instance (e.g. to reconcile BPMN timers after an advance)."""
    statement = select(Timer).where(Timer.instance_id == instance_id, Timer.status.in_(LIVE))
    if kind is not None:
        statement = statement.where(Timer.kind == kind)
    return list(session.scalars(statement.order_by(Timer.due_at)))


def sync_bpmn_timers(
    session: Session,
    instance_id: str,
    pending: Iterable,
    *,
    now: datetime | None = None,
    keep: str | None = None,
) -> list[Timer]:
    """Make the instance's live ``bpmn_timer`` rows match the engine's pending timers.

    ``pending`` is ``Advance.timers`` (``PendingTimer(task_id, due_at, …)``) after an advance.
    Rows for timers no longer waiting are cancelled, except ``keep`` (the row being fired now);
    returns the rows added, whose due times the caller passes to ``scheduler.rearm``.
    """
    wanted = {(p.task_id, p.due_at): p for p in pending}
    added, seen = [], set()
    for row in pending_for_instance(session, instance_id, kind="bpmn_timer"):
        key = (row.task_id, row.due_at)
        if key in wanted and key not in seen:
            seen.add(key)
        elif row.id != keep and row.status == PENDING:
            row.status = CANCELLED
    for key, timer in wanted.items():
        if key not in seen:
            payload = {"element_id": timer.element_id, "name": timer.name}
            added.append(
                schedule(
                    session,
                    "bpmn_timer",
                    timer.due_at,
                    instance_id=instance_id,
                    task_id=timer.task_id,
                    payload=payload,
                    now=now,
                )
            )
    session.flush()
    return added
