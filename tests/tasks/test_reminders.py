"""Reminders and escalations fire from durable timers, email through a real SMTP server, once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from storage.models import Escalation, Notification, Task, Timer, User, new_id
from tasks import inbox, notify, reminders
from tasks.scheduler import TimerScheduler
from tests.support.smtp_sink import SmtpSink
from tests.workflows.helpers import deploy, open_tasks, start
from workflows.clock import FrozenClock
from workflows.instances import Engine

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday
CHILD = "CHILD-4471"
SECRET = "Jamie lives at 12 Elm Road"
BASE = "https://sf.example"


@pytest.fixture
def smtp():
    with SmtpSink() as sink:
        yield sink


def _user(session, username, roles, agency, manager=None, email=True):
    manager_id = None
    if manager:
        manager_id = session.scalar(select(User.id).where(User.username == manager))
    session.add(
        User(
            id=new_id(),
            username=username,
            display_name=username,
            email=f"{username}@example.test" if email else None,
            agency=agency,
            roles=roles,
            manager_id=manager_id,
            active=True,
            created_at=T0,
        )
    )
    session.flush()


@pytest.fixture
def world(uow_factory, session_factory, smtp):
    """Users of two agencies, a started ``three_steps`` case, a scheduler on a frozen clock."""
    clock = FrozenClock(T0)
    engine = Engine(clock=clock)
    with uow_factory() as uow:
        _user(uow.session, "maya", ["manager"], "school")
        _user(uow.session, "mike", ["manager"], "health")
        _user(uow.session, "pat", ["practitioner"], "school", manager="maya")
        _user(uow.session, "paula", ["practitioner"], "school")
        _user(uow.session, "pete", ["practitioner"], "health")
        _user(uow.session, "cara", ["csc_manager"], "childrens_social_care")
        uow.commit()
    deploy(engine, uow_factory)
    advance = start(
        engine, uow_factory, business_key=CHILD, variables={"note": SECRET}, started_by="pat"
    )
    (task,) = open_tasks(uow_factory, advance.instance.id)
    handlers = reminders.make_handlers(
        notify.SmtpMailer(smtp.url), BASE, on_reminder=None, clock=clock.now
    )
    scheduler = TimerScheduler(session_factory, clock, handlers)
    return {"clock": clock, "task_id": task.id, "scheduler": scheduler}


def _arrange(uow_factory, task_id, assignee, due=T0 + timedelta(days=2), candidates=None):
    with uow_factory() as uow:
        task = uow.session.get(Task, task_id)
        task.assignee = assignee
        task.created_at = T0
        task.due_at = due
        if candidates is not None:
            task.candidate_roles = candidates
        written = reminders.schedule_for_task(uow.session, task, T0)
        uow.commit()
    return written


def _notes(session_factory, **where) -> list[Notification]:
    with session_factory() as session:
        query = select(Notification).filter_by(**where).order_by(Notification.created_at)
        return list(session.scalars(query))


def _escalations(session_factory) -> list[Escalation]:
    with session_factory() as session:
        return list(session.scalars(select(Escalation)))


def _no_case_data(message) -> None:
    text = message["Subject"] + SmtpSink.text(message)
    assert CHILD not in text and SECRET not in text and "Jamie" not in text


def test_halfway_reminder_is_emailed_to_the_assignee_once(
    world, uow_factory, session_factory, smtp
):
    written = _arrange(uow_factory, world["task_id"], "pat")
    assert written == [T0 + timedelta(days=1), T0 + timedelta(days=2), T0 + timedelta(days=2)]
    clock, scheduler = world["clock"], world["scheduler"]

    clock.advance(timedelta(hours=23))
    assert scheduler.fire_due() == 0
    assert smtp.received() == []

    clock.advance(timedelta(hours=1))
    assert scheduler.fire_due() == 1
    ((to, message),) = smtp.received()
    assert to == ["pat@example.test"]
    assert "Describe the concern" in message["Subject"]
    assert f"{BASE}/tasks/{world['task_id']}" in SmtpSink.text(message)
    _no_case_data(message)
    (note,) = _notes(session_factory, username="pat")
    assert note.kind == "reminder" and note.link == f"/tasks/{world['task_id']}"
    assert note.emailed_at is not None

    assert scheduler.fire_due() == 0  # firing again sends nothing more
    assert len(smtp.received()) == 1


def test_due_time_makes_the_task_overdue_and_escalates_to_the_managers_inbox(
    world, uow_factory, session_factory, smtp
):
    _arrange(uow_factory, world["task_id"], "pat")
    world["clock"].set(T0 + timedelta(days=2))
    assert world["scheduler"].fire_due() == 3  # halfway (late), due reminder, due
    kinds = sorted(n.kind for n in _notes(session_factory, username="pat"))
    assert kinds == ["overdue", "reminder", "reminder"]
    (escalation,) = _escalations(session_factory)
    assert (escalation.kind, escalation.manager_username, escalation.status) == (
        "overdue_task",
        "maya",
        "open",
    )
    assert [n.kind for n in _notes(session_factory, username="maya")] == ["escalation"]
    recipients = sorted(to[0] for to, _ in smtp.received())
    assert recipients == ["maya@example.test"] + ["pat@example.test"] * 3
    for _, message in smtp.received():
        _no_case_data(message)


def test_an_unassigned_task_reminds_every_candidate_of_the_case_agencies(
    world, uow_factory, session_factory, smtp
):
    _arrange(uow_factory, world["task_id"], None)
    world["clock"].set(T0 + timedelta(days=1))
    world["scheduler"].fire_due()
    recipients = sorted(to[0] for to, _ in smtp.received())
    # pete is a practitioner of an agency not involved in the case: he may not claim it.
    assert recipients == ["pat@example.test", "paula@example.test"]

    world["clock"].set(T0 + timedelta(days=2))
    world["scheduler"].fire_due()
    (escalation,) = _escalations(session_factory)
    assert (escalation.manager_username, escalation.role, escalation.agency) == (
        None,
        "manager",
        "school",
    )
    assert [n.username for n in _notes(session_factory, kind="escalation")] == ["maya"]


def test_a_front_door_task_escalates_to_the_csc_managers(world, uow_factory, session_factory):
    _arrange(uow_factory, world["task_id"], None, candidates=["csc"])
    world["clock"].set(T0 + timedelta(days=2))
    world["scheduler"].fire_due()
    (escalation,) = _escalations(session_factory)
    assert (escalation.role, escalation.agency) == ("csc_manager", None)
    assert [n.username for n in _notes(session_factory, kind="escalation")] == ["cara"]


def test_a_closed_task_sends_nothing_more(world, uow_factory, session_factory, smtp):
    _arrange(uow_factory, world["task_id"], "pat")
    with uow_factory() as uow:
        uow.session.get(Task, world["task_id"]).status = "completed"
        assert reminders.cancel_for_task(uow.session, world["task_id"], T0) == 3
        uow.commit()
    world["clock"].set(T0 + timedelta(days=3))
    assert world["scheduler"].fire_due() == 0
    assert smtp.received() == [] and _notes(session_factory) == []
    assert _escalations(session_factory) == []


def test_a_task_closed_without_cancelling_its_timers_still_sends_nothing(
    world, uow_factory, session_factory, smtp
):
    _arrange(uow_factory, world["task_id"], "pat")
    with uow_factory() as uow:
        uow.session.get(Task, world["task_id"]).status = "cancelled"
        uow.commit()
    world["clock"].set(T0 + timedelta(days=3))
    world["scheduler"].fire_due()
    assert smtp.received() == [] and _notes(session_factory) == []


def test_completing_resolves_the_overdue_escalation(world, uow_factory, session_factory):
    _arrange(uow_factory, world["task_id"], "pat")
    world["clock"].set(T0 + timedelta(days=2))
    world["scheduler"].fire_due()
    with uow_factory() as uow:
        reminders.cancel_for_task(uow.session, world["task_id"], T0 + timedelta(days=3), by="pat")
        uow.commit()
    (escalation,) = _escalations(session_factory)
    assert (escalation.status, escalation.resolution) == ("resolved", "completed")


def test_rescheduling_replaces_the_live_timers(world, uow_factory, session_factory):
    _arrange(uow_factory, world["task_id"], "pat")
    _arrange(uow_factory, world["task_id"], "pat", due=T0 + timedelta(days=4))
    with session_factory() as session:
        live = session.scalars(
            select(Timer.due_at).where(Timer.status == "pending").order_by(Timer.due_at)
        ).all()
    assert live == [T0 + timedelta(days=2), T0 + timedelta(days=4), T0 + timedelta(days=4)]


def test_nothing_is_emailed_when_the_work_is_rolled_back(uow_factory, session_factory, smtp):
    with uow_factory() as uow:
        _user(uow.session, "pat", ["practitioner"], "school")
        uow.commit()
    with uow_factory() as uow:
        rows = notify.notify(uow.session, ["pat"], "info", "Hello", T0)
        outgoing = notify.outgoing_for(uow.session, rows, BASE)
        notify.email_on_commit(uow, notify.SmtpMailer(smtp.url), outgoing, lambda: T0)
        uow.rollback()
    assert smtp.received() == [] and _notes(session_factory) == []


def test_delivering_twice_emails_once(uow_factory, session_factory, smtp):
    with uow_factory() as uow:
        _user(uow.session, "pat", ["practitioner"], "school")
        rows = notify.notify(uow.session, ["pat"], "info", "Hello", T0, link="/tasks/x")
        outgoing = notify.outgoing_for(uow.session, rows, BASE)
        uow.commit()
        mailer = notify.SmtpMailer(smtp.url)
        assert notify.deliver(uow.session, mailer, outgoing, lambda: T0) == 1
        assert notify.deliver(uow.session, mailer, outgoing, lambda: T0) == 0
    assert len(smtp.received()) == 1


def test_smtp_urls_and_policies_parse():
    mailer = notify.SmtpMailer("smtps://u%40x:p%3Aw@mail.example:2465?from=a@b")
    assert (mailer.host, mailer.port, mailer.tls, mailer.username, mailer.password) == (
        "mail.example",
        2465,
        True,
        "u@x",
        "p:w",
    )
    assert mailer.sender == "a@b"
    assert notify.SmtpMailer("smtp://relay").port == 25
    assert isinstance(notify.mailer_from_url(None), notify.NullMailer)
    with pytest.raises(ValueError):
        notify.SmtpMailer("http://relay")
    assert reminders.ReminderPolicy.parse("1, 0.25").fractions == (0.25, 1.0)
    assert reminders.ReminderPolicy.parse("").fractions == (0.5, 1.0)
    with pytest.raises(ValueError):
        reminders.ReminderPolicy.parse("1.5")


def test_an_advice_request_reaches_the_role_in_its_agency_and_closes_with_the_task(
    world, uow_factory
):
    with uow_factory() as uow:
        inbox.raise_item(
            uow.session,
            "advice_request",
            T0,
            task_id=world["task_id"],
            role="manager",
            agency="school",
        )
        uow.commit()
    with uow_factory() as uow:
        people = {u.username: u for u in uow.session.scalars(select(User))}
        assert len(inbox.open_escalations(uow.session, people["maya"])) == 1
        assert inbox.open_escalations(uow.session, people["mike"]) == []
        assert inbox.open_escalations(uow.session, people["pat"]) == []
        reminders.cancel_for_task(uow.session, world["task_id"], T0, by="pat")
        uow.commit()
    with uow_factory() as uow:
        maya = uow.session.scalars(select(User).where(User.username == "maya")).one()
        assert inbox.open_escalations(uow.session, maya) == []


def test_a_dsls_late_step_goes_to_the_agencys_dsls_not_to_a_line_manager_without_dsl(
    world, uow_factory, session_factory
):
    """A school's DSL, line-managed by the head (a ``manager`` without ``dsl``), lets a DSL step
    run late: the head could give it to nobody, so the item goes to the school's DSLs (the
    lead, a safeguarding manager who holds ``dsl``) — not to the DSL herself, nor to health's."""
    with uow_factory() as uow:
        _user(uow.session, "dana", ["dsl"], "school", manager="maya")
        _user(uow.session, "dee", ["dsl"], "school")
        _user(uow.session, "sue", ["manager", "dsl"], "school")
        _user(uow.session, "hana", ["dsl"], "health")
        uow.commit()
    _arrange(uow_factory, world["task_id"], "dana", candidates=["dsl"])
    world["clock"].set(T0 + timedelta(days=2))
    world["scheduler"].fire_due()
    (escalation,) = _escalations(session_factory)
    assert (escalation.manager_username, escalation.role, escalation.agency) == (
        None,
        "dsl",
        "school",
    )
    told = sorted(n.username for n in _notes(session_factory, kind="escalation"))
    assert told == ["dee", "sue"]


def test_a_step_a_line_manager_may_do_still_goes_to_them(world, uow_factory, session_factory):
    """A step for a manager or a DSL (advice): the assignee's line manager can act on it."""
    _arrange(uow_factory, world["task_id"], "pat", candidates=["manager", "dsl"])
    world["clock"].set(T0 + timedelta(days=2))
    world["scheduler"].fire_due()
    (escalation,) = _escalations(session_factory)
    assert escalation.manager_username == "maya"
    assert reminders.managing_role(["practitioner"]) == "manager"
    assert reminders.managing_role(["csc", "practitioner"]) == "csc_manager"
    assert reminders.managing_role(["dsl"]) == "dsl"
