"""Telling people: in-app notification rows, and plain-text email over SMTP after the commit.

Why emails wait for the commit: a timer handler or request that is rolled back must not have told
anyone anything. The notification rows are written in the caller's transaction; the caller then
registers :func:`email_on_commit`, which, once the transaction is durable, *claims* each row for
email (``UPDATE … SET emailed_at WHERE emailed_at IS NULL``, committed) before sending it. A row is
therefore emailed at most once, even if the callback ran twice; a send that fails puts the claim
back so a later retry may send it, and the in-app notification is there either way.

What an email may say: only the step's name, its due time and a link to the task
(``{base_url}/tasks/<id>``) — never the business key (the child's identifier), variables or
anything the case holds. Email leaves the service; the link leads back behind sign-in and
need-to-know.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from typing import Protocol
from urllib.parse import parse_qs, unquote, urlsplit

from sqlalchemy import and_, func, select, update
from sqlalchemy.orm import Session

from storage.models import Notification, ProcessInstance, Task, User, new_id
from storage.uow import UnitOfWork
from tasks import parties

log = logging.getLogger(__name__)

KINDS = ("reminder", "overdue", "escalation", "info")
DEFAULT_SENDER = "safeguard-flow@localhost"


class Mailer(Protocol):
    """Sends one plain-text email; raises on failure."""

    def send(self, to: str, subject: str, body: str) -> None: ...


class NullMailer:
    """No ``SMTP_URL``: in-app notifications only; nothing is sent and nothing is marked emailed."""

    enabled = False

    def send(self, to: str, subject: str, body: str) -> None:  # pragma: no cover - never called
        return None


class SmtpMailer:
    """Email through an SMTP server named by a URL.

    ``smtp://host:port`` (plain; add ``?starttls=true`` to upgrade), ``smtps://host:port`` (TLS
    from the start), optional ``user:password@`` (percent-encoded) and ``?from=address``.
    A connection per message: reminders are few, and a long-lived connection would need keeping
    alive from the scheduler's thread.
    """

    enabled = True

    def __init__(self, smtp_url: str, sender: str | None = None, timeout: float = 10.0):
        parts = urlsplit(smtp_url)
        if parts.scheme not in ("smtp", "smtps"):
            raise ValueError("SMTP_URL must start with smtp:// or smtps://")
        if not parts.hostname:
            raise ValueError("SMTP_URL names no host")
        query = parse_qs(parts.query)
        self.tls = parts.scheme == "smtps"
        self.starttls = query.get("starttls", ["false"])[0].lower() in ("1", "true", "yes")
        self.host = parts.hostname
        self.port = parts.port or (465 if self.tls else 25)
        self.username = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        self.sender = sender or query.get("from", [DEFAULT_SENDER])[0]
        self.timeout = timeout

    def send(self, to: str, subject: str, body: str) -> None:
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = to
        message["Subject"] = subject
        message.set_content(body)
        context = ssl.create_default_context()
        if self.tls:
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                self.host, self.port, timeout=self.timeout, context=context
            )
        else:
            smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        with smtp:
            if self.starttls:
                smtp.starttls(context=context)
            if self.username:
                smtp.login(self.username, self.password or "")
            smtp.send_message(message)


def mailer_from_url(smtp_url: str | None, sender: str | None = None) -> Mailer:
    """``SmtpMailer`` for a URL, ``NullMailer`` when it is unset or empty."""
    return SmtpMailer(smtp_url, sender) if smtp_url else NullMailer()


@dataclass(frozen=True)
class Outgoing:
    """An email to send after the commit (plain values: rows are expired by then)."""

    notification_id: str
    to: str
    subject: str
    body: str


def task_link(task_id: str) -> str:
    """The page where the task is done (relative: the service's pages)."""
    return f"/tasks/{task_id}"


def email_text(title: str, link: str | None, base_url: str) -> tuple[str, str]:
    """Subject and body of a notification's email: its title and the link, nothing else."""
    url = f"{base_url.rstrip('/')}{link}" if link else base_url.rstrip("/")
    body = (
        f"{title}\n\n"
        f"Open it here (sign-in needed): {url}\n\n"
        "This message is sent by safeguard-flow. It holds no case details by design.\n"
    )
    return title, body


def notify(
    session: Session,
    usernames: Iterable[str],
    kind: str,
    title: str,
    now: datetime,
    *,
    task_id: str | None = None,
    instance_id: str | None = None,
    link: str | None = None,
    body: str | None = None,
) -> list[Notification]:
    """Write one in-app notification per distinct username (in the caller's transaction)."""
    if kind not in KINDS:
        raise ValueError(f"notification kind must be one of {KINDS}")
    rows = []
    for username in sorted(set(usernames)):
        row = Notification(
            id=new_id(),
            username=username,
            kind=kind,
            task_id=task_id,
            instance_id=instance_id,
            title=title[:400],
            link=link,
            body=body,
            created_at=now,
        )
        session.add(row)
        rows.append(row)
    session.flush()
    return rows


def outgoing_for(session: Session, rows: Iterable[Notification], base_url: str) -> list[Outgoing]:
    """The emails for ``rows``: one per recipient who is active and has an address."""
    rows = list(rows)
    if not rows:
        return []
    addresses = dict(
        session.execute(
            select(User.username, User.email).where(
                User.username.in_({r.username for r in rows}), User.active.is_(True)
            )
        ).all()
    )
    result = []
    for row in rows:
        address = addresses.get(row.username)
        if address:
            subject, text = email_text(row.title, row.link, base_url)
            result.append(Outgoing(row.id, address, subject, text))
    return result


def email_on_commit(
    uow: UnitOfWork,
    mailer: Mailer,
    outgoing: list[Outgoing],
    now: Callable[[], datetime],
    on_sent: Callable[[str], None] | None = None,
) -> None:
    """Send ``outgoing`` once ``uow`` has committed; nothing at all if it rolls back."""
    if not outgoing or not getattr(mailer, "enabled", True):
        return
    uow.on_commit(lambda: deliver(uow.session, mailer, outgoing, now, on_sent))


def deliver(
    session: Session,
    mailer: Mailer,
    outgoing: list[Outgoing],
    now: Callable[[], datetime],
    on_sent: Callable[[str], None] | None = None,
) -> int:
    """Claim each row for email, send it, and put the claim back if sending failed.

    Runs after the caller's commit, in short transactions of its own on ``session``. Never
    raises: the work it follows is already done, and a mail server being down must not undo it.
    """
    sent = 0
    for item in outgoing:
        try:
            claimed = session.execute(
                update(Notification)
                .where(Notification.id == item.notification_id, Notification.emailed_at.is_(None))
                .values(emailed_at=now())
                .execution_options(synchronize_session=False)
            ).rowcount
            session.commit()
        except Exception:
            session.rollback()
            log.exception("could not claim notification %s for email", item.notification_id)
            continue
        if claimed != 1:
            continue  # already emailed
        try:
            mailer.send(item.to, item.subject, item.body)
        except Exception as err:
            log.warning("email for notification %s failed: %s", item.notification_id, err)
            _unclaim(session, item.notification_id)
            continue
        sent += 1
        if on_sent is not None:
            on_sent("email")
    return sent


def _unclaim(session: Session, notification_id: str) -> None:
    try:
        session.execute(
            update(Notification)
            .where(Notification.id == notification_id)
            .values(emailed_at=None)
            .execution_options(synchronize_session=False)
        )
        session.commit()
    except Exception:
        session.rollback()
        log.exception("could not release notification %s after a failed email", notification_id)


def _mine(username: str, notification_id: str | None = None):
    clause = Notification.username == username
    if notification_id is not None:
        clause = and_(clause, Notification.id == notification_id)
    return clause


def unread_count(session: Session, username: str) -> int:
    """How many of this person's notifications are unread (the badge in the page header)."""
    return session.scalar(
        select(func.count()).where(_mine(username), Notification.read_at.is_(None))
    )


def recent(session: Session, username: str, limit: int = 100) -> list[Notification]:
    """This person's notifications, newest first."""
    return list(
        session.scalars(
            select(Notification)
            .where(_mine(username))
            .order_by(Notification.created_at.desc(), Notification.id.desc())
            .limit(limit)
        )
    )


@dataclass(frozen=True)
class CaseLabel:
    """Which case a notification is about, as its reader may be told in the app."""

    process_key: str
    business_key: str | None  # None: not to be named (advice without identity, no key)


def cases_of(
    session: Session, viewer: parties.Viewer, rows: Iterable[Notification]
) -> dict[str, CaseLabel]:
    """``{notification id: its case}`` for the notifications whose instance the reader may see
    (need-to-know, ``tasks/parties.py``), in two queries. Titles name only a step ("Escalation:
    'X' is overdue") because they are emailed too; the page adds the case for those who may
    see it, and never for a step that withholds the child's identity."""
    rows = [row for row in rows if row.instance_id]
    if not rows:
        return {}
    instances = {row.instance_id for row in rows}
    seen = {
        found.id: (found.process_key, found.business_key)
        for found in session.execute(
            select(
                ProcessInstance.id, ProcessInstance.process_key, ProcessInstance.business_key
            ).where(ProcessInstance.id.in_(instances), parties.instance_visible(viewer))
        )
    }
    task_ids = {row.task_id for row in rows if row.task_id}
    withheld = (
        set(
            session.scalars(
                select(Task.id).where(Task.id.in_(task_ids), Task.identity_withheld.is_(True))
            )
        )
        if task_ids
        else set()
    )
    labels = {}
    for row in rows:
        if row.instance_id in seen:
            key, business_key = seen[row.instance_id]
            shown = None if row.task_id in withheld else business_key
            labels[row.id] = CaseLabel(key, shown)
    return labels


def mark_read(
    session: Session, username: str, notification_id: str, now: datetime
) -> Notification | None:
    """Mark one of one's own notifications read (the first read time is kept); someone
    else's notification is ``None``, as if it did not exist."""
    row = session.scalars(select(Notification).where(_mine(username, notification_id))).first()
    if row is None:
        return None
    _set_read(session, _mine(username, notification_id), now)
    session.refresh(row)
    return row


def mark_all_read(session: Session, username: str, now: datetime) -> int:
    """Mark every unread notification of this person read; how many."""
    return _set_read(session, _mine(username), now)


def _set_read(session: Session, clause, now: datetime) -> int:
    return session.execute(
        update(Notification)
        .where(clause, Notification.read_at.is_(None))
        .values(read_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
