"""Wiring of the reminder side (``tasks/reminders.py``, ``tasks/notify.py``) to the app's config.

Kept apart from ``app.py`` so that whoever starts the ``TimerScheduler`` takes the handlers from
one call: ``TimerScheduler(…, handlers={**timer_handlers(app), "bpmn_timer": …})``.
"""

from __future__ import annotations

from flask import Flask

from service import metrics
from tasks import notify, reminders


def policy(app: Flask) -> reminders.ReminderPolicy:
    """The reminder policy of the app's config (``REMINDER_FRACTIONS``)."""
    return reminders.ReminderPolicy.parse(app.config.get("REMINDER_FRACTIONS"))


def mailer(app: Flask) -> notify.Mailer:
    """SMTP when ``SMTP_URL`` is set, else in-app notifications only."""
    return notify.mailer_from_url(app.config.get("SMTP_URL"), app.config.get("MAIL_FROM"))


def timer_handlers(app: Flask, mail: notify.Mailer | None = None) -> dict:
    """``task_reminder`` and ``task_due`` handlers, counting reminders in the app's metrics."""
    clock = app.extensions["safeguard"].clock
    return reminders.make_handlers(
        mail if mail is not None else mailer(app),
        app.config["BASE_URL"],
        on_reminder=lambda channel: metrics.count_reminder(app, channel),
        policy=policy(app),
        clock=clock.now,
    )
