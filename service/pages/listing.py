"""What a list of tasks shows on a page: how late each one is, and the filters of "My work".

Lateness is counted in working time (``tasks.calendar``), the time deadlines are set in: a task
due on Friday at 17:00 is "1 h late" at 10:00 on Monday, and "2 working days late" once two
whole working days have gone by since it fell due.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import ProcessDefinition
from tasks.calendar import DEFAULT_CALENDAR, WorkingCalendar
from tasks.worklist import page, worklist_query

LONDON = ZoneInfo("Europe/London")
DUE_SOON = timedelta(hours=24)
SHOWN = 200  # tasks per list on "My work"
# The status filter of "My work": value, words on the page.
STATUSES = (("overdue", "Overdue"), ("due_soon", "Due within 24 hours"), ("later", "Due later"))


def _hours(delta: timedelta) -> int:
    return int(delta.total_seconds() // 3600)


def uk_time(moment: datetime) -> str:
    """A time as the forms speak it: London's clock, saying so."""
    return moment.astimezone(LONDON).strftime("%d %b %Y %H:%M") + " (UK time)"


def short_time(moment: datetime) -> str:
    """A due time as a list line says it, on London's clock: "Thu 17 Apr 17:00"."""
    return moment.astimezone(LONDON).strftime("%a %d %b %H:%M")


def lateness(
    due: datetime | None, now: datetime, calendar: WorkingCalendar = DEFAULT_CALENDAR
) -> tuple[str, str]:
    """The CSS class and the words for how a due time stands: overdue, due soon, or neither."""
    if due is None:
        return "", ""
    if due < now:
        late = calendar.working_time_between(due, now)
        days = late // calendar.hours_per_day
        if days >= 1:
            return "overdue", f"{days} working day{'s' if days != 1 else ''} late"
        if late >= timedelta(hours=1):
            return "overdue", f"{_hours(late)} h late"
        return "overdue", "overdue"
    if due - now <= DUE_SOON:
        left = due - now
        return "due-soon", f"due in {_hours(left)} h" if left >= timedelta(hours=1) else "due now"
    return "", ""


@dataclass(frozen=True)
class Filters:
    """The filters of "My work" as the query string gave them; unknown values mean "all"."""

    process: str = ""
    status: str = ""

    @classmethod
    def from_args(cls, args: Mapping[str, str], processes: Mapping[str, str]) -> Filters:
        process = args.get("process", "")
        status = args.get("status", "")
        return cls(
            process if process in processes else "",
            status if status in dict(STATUSES) else "",
        )

    @property
    def active(self) -> bool:
        return bool(self.process or self.status)


def process_choices(session: Session) -> dict[str, str]:
    """Deployed process keys and their names (latest version's name), by name."""
    rows = session.execute(
        select(ProcessDefinition.key, ProcessDefinition.name).order_by(
            ProcessDefinition.key, ProcessDefinition.version
        )
    ).all()
    names = {key: name or key for key, name in rows}
    return dict(sorted(names.items(), key=lambda item: item[1].lower()))


def task_rows(session: Session, viewer, view: str, now: datetime, filters: Filters) -> list[dict]:
    """Open tasks of ``view`` with how late they are, soonest due first, filtered."""
    overdue = {"overdue": True, "due_soon": False, "later": False}.get(filters.status)
    query = worklist_query(viewer, view, now, overdue=overdue, process_key=filters.process or None)
    rows, _more = page(session, query, 0, SHOWN)
    shown = []
    for task, process_key, business_key in rows:
        status, words = lateness(task.due_at, now)
        if filters.status == "due_soon" and status != "due-soon":
            continue
        if filters.status == "later" and status:
            continue
        shown.append(
            {"task": task, "process_key": process_key, "business_key": business_key}
            | {"status": status, "lateness": words}
        )
    return shown
