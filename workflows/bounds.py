"""Deploy-time bounds on time: timers and due times a diagram may say without holding the service.

A timer that fires every second, ten thousand times, or never stops (``R/PT1M``) keeps a worker
busy for as long as the instance lives; a duration of a million years overflows a date, and the
library's own arithmetic walks month by month (``P99999999Y`` would take hours). So every timer
written as a constant is checked here against :class:`~workflows.rules.TimerBounds`, with the
library's own parsers (what passes here is read the same way when it runs):

- ``timeDuration``: from ``shortest`` (1 minute) to ``longest_years`` (10 years);
- ``timeCycle``: ``R<n>/…`` with 1 ≤ n ≤ 1 000 and an interval of at least an hour (and at most
  10 years); unbounded ``R/…`` is refused; a start or end date obeys the rule for dates;
- ``timeDate``: a date with a time zone, within 10 years of the deploy time (either way).

``timeDuration`` and ``timeCycle`` must be quoted constants: a computed one cannot be checked
here. A ``timeDate`` may be computed (the shipped diagrams say ``add_working_days(now(), 1)``);
its value is bounded when it runs (``workflows/sandbox.py``). ``camunda:dueDate`` (``1WD``,
``4WH``, ``same-day`` or an ISO duration) is bounded to at least one working hour or
``shortest`` and at most a year: reminders and escalations are counted from it. A due time may
also be an expression over the case's answers (``=`` then Python, e.g.
``='same-day' if urgent else '2WD'``): it must pass the sandbox check, and every constant it can
give back (a plain constant, both arms of ``x if c else y``, a dict's values, a ``.get`` default)
must itself be a due time within these bounds. ``due_from`` (a task property) names the user task
of the same process, or ``start``, the due time is counted from; any other task property whose
name starts with ``due`` is refused, because nothing reads it.
"""

from __future__ import annotations

import ast
import re
from datetime import datetime, timedelta

import isodate
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

from workflows.errors import Problem, problem_at
from workflows.parsing import CAMUNDA_NS, NSMAP
from workflows.rules import TimerBounds
from workflows.sandbox import SandboxViolation, check_source

DUE_PATTERN = re.compile(r"^(\d+)\s*(WD|WH)$|^same-day$")
DUE_EXPRESSION = "="  # camunda:dueDate="=<expression>": a due time computed from the answers
DUE_FROM = "due_from"  # task property: the step (or "start") a due time is counted from
DUE_FROM_START = "start"
# A due time of at most a year: working time is counted day by day, so 99999999WD would keep a
# worker busy for hours, and a far-off ISO duration overflows a date.
MAX_DUE = {"WD": 260, "WH": 260 * 8}
MAX_DUE_PERIOD = timedelta(days=366)
_SOME_DAY = datetime(2000, 1, 1)
# Generous sizes of each designator, to refuse a huge duration before the library computes it.
_AT_MOST = {
    "years": 366 * 86400,
    "months": 31 * 86400,
    "weeks": 7 * 86400,
    "days": 86400,
    "hours": 3600,
    "minutes": 60,
    "seconds": 1,
}
_UNQUOTED = re.compile(r"R?\d*/?P[0-9YMWDTHS.]*")


class _Refused(ValueError):
    """A timer value outside the bounds; the message says which and why."""


def check_timers(root, now: datetime, bounds: TimerBounds) -> list[Problem]:
    """Every timer event definition whose expression is a constant, against ``bounds``."""
    problems = []
    for timer in root.xpath(".//bpmn:timerEventDefinition/*", namespaces=NSMAP):
        kind = timer.tag.split("}", 1)[-1]
        if kind not in ("timeDuration", "timeCycle", "timeDate"):
            continue
        event = timer.getparent().getparent()
        text = (timer.text or "").strip()
        if not text or _UNQUOTED.fullmatch(text):
            continue  # reported by validation (empty, or must be quoted)
        try:
            body = ast.parse(text, mode="eval").body
        except (SyntaxError, ValueError, MemoryError, RecursionError):
            continue  # reported by validation (does not compile)
        if not (isinstance(body, ast.Constant) and isinstance(body.value, str)):
            if kind == "timeDate":
                continue  # computed dates are bounded when they run
            problems.append(
                problem_at(
                    event,
                    f'the timer {kind} must be a quoted constant such as "P2D": '
                    "a computed one cannot be checked when the diagram is deployed",
                )
            )
            continue
        value = body.value.strip()
        try:
            if kind == "timeDuration":
                _duration(value, now, bounds, bounds.shortest)
            elif kind == "timeCycle":
                _cycle(value, now, bounds)
            else:
                _date(value, now, bounds)
        except _Refused as refused:
            problems.append(problem_at(event, f"the timer {kind} {value[:40]!r} {refused}"))
    return problems


def _years_after(moment: datetime, years: int) -> datetime:
    try:
        return moment.replace(year=moment.year + years)
    except ValueError:  # 29 February
        return moment.replace(year=moment.year + years, day=28)


def _duration(value: str, now: datetime, bounds: TimerBounds, shortest: timedelta) -> timedelta:
    """The length of an ISO 8601 duration as the library will compute it from ``now``."""
    if value.startswith("-"):
        raise _Refused("is negative: a timer waits forward")
    if not value.upper().startswith("P"):
        raise _Refused("is not an ISO 8601 duration such as P2D or PT4H")
    try:
        parsed = TimerEventDefinition.parse_iso_duration(value)
    except Exception:  # noqa: BLE001 - the library raises a bare Exception
        raise _Refused("is not an ISO 8601 duration such as P2D or PT4H") from None
    longest = _years_after(now, bounds.longest_years) - now
    rough = sum(_AT_MOST[part] * amount for part, amount in parsed.items())
    if rough > longest.total_seconds() * 1.1:
        raise _Refused(f"is longer than {bounds.longest_years} years")
    length = TimerEventDefinition.get_timedelta_from_start(dict(parsed), now)
    if length <= timedelta(0):
        raise _Refused("is zero: a timer must wait")
    if length < shortest:
        raise _Refused(f"is shorter than {_say(shortest)}")
    if length > longest:
        raise _Refused(f"is longer than {bounds.longest_years} years")
    return length


def _cycle(value: str, now: datetime, bounds: TimerBounds) -> None:
    found = re.fullmatch(r"R(\d*)/(.+)", value, flags=re.IGNORECASE)
    if found is None:
        raise _Refused("is not a cycle such as R3/PT4H (R<n>/<interval>)")
    count, rest = found.groups()
    if not count:
        raise _Refused(f"repeats without end: say how often, at most R{bounds.most_repetitions}")
    if len(count) > 6 or not 1 <= int(count) <= bounds.most_repetitions:
        raise _Refused(f"must repeat from 1 to {bounds.most_repetitions} times")
    parts = rest.replace("--", "/").split("/")
    durations = [p for p in parts if p.upper().startswith("P") or p.startswith("-")]
    if len(parts) > 2 or len(durations) != 1:
        raise _Refused("needs one interval, with at most a start or an end date")
    for part in parts:
        if part in durations:
            interval = _duration(part, now, bounds, timedelta(0))
            closest = bounds.closest_repetitions
            if interval < closest:
                raise _Refused(f"repeats more often than once in {_say(closest)}")
        else:
            _date(part, now, bounds)


def _date(value: str, now: datetime, bounds: TimerBounds) -> None:
    if value.upper().startswith("P") or value.startswith("-"):
        raise _Refused("is a duration: a timeDate needs a date such as 2027-01-31T17:00:00Z")
    try:
        if "W" not in value.upper() and datetime.fromisoformat(value).tzinfo is None:
            raise _Refused("has no time zone: add one, e.g. Z for UTC (2027-01-31T17:00:00Z)")
        moment = TimerEventDefinition.parse_time_or_duration(value)
    except _Refused:
        raise
    except Exception:  # noqa: BLE001 - the library's parse errors have no common class
        raise _Refused("is not an ISO 8601 date such as 2027-01-31T17:00:00Z") from None
    if not isinstance(moment, datetime):
        raise _Refused("is not an ISO 8601 date such as 2027-01-31T17:00:00Z")
    years = bounds.longest_years
    if not _years_after(now, -years) <= moment <= _years_after(now, years):
        raise _Refused(f"is more than {years} years from now")


def _say(length: timedelta) -> str:
    seconds = int(length.total_seconds())
    if seconds % 3600 == 0:
        hours = seconds // 3600
        return "an hour" if hours == 1 else f"{hours} hours"
    if seconds % 60 == 0:
        minutes = seconds // 60
        return "a minute" if minutes == 1 else f"{minutes} minutes"
    return f"{seconds} seconds"


def check_due_times(root, bounds: TimerBounds) -> list[Problem]:
    """Every ``camunda:dueDate`` of a user task, and its ``due*`` properties."""
    problems = [
        problem
        for task in root.xpath(".//bpmn:userTask[@camunda:dueDate]", namespaces=NSMAP)
        for problem in check_due(task, task.get(f"{{{CAMUNDA_NS}}}dueDate"), bounds)
    ]
    for task in root.xpath(".//bpmn:userTask", namespaces=NSMAP):
        problems += _check_due_properties(task)
    return problems


def check_due(task, due: str, bounds: TimerBounds | None = None) -> list[Problem]:
    """``1WD``/``4WH`` (at least 1, at most a year), ``same-day``, an ISO duration from
    ``bounds.shortest`` to a year, or ``=expression`` whose constant results are all of these."""
    bounds = bounds or TimerBounds()
    due = due.strip()
    if due.startswith(DUE_EXPRESSION):
        return _check_due_expression(task, due[len(DUE_EXPRESSION) :], bounds)
    message = due_problem(due, bounds)
    return [problem_at(task, message)] if message else []


def due_problem(due: str, bounds: TimerBounds | None = None) -> str | None:
    """What is wrong with the literal due time ``due``, or None: shared by the deploy check and
    the run-time check of what an expression gave (``tasks/due.py``)."""
    bounds = bounds or TimerBounds()
    due = due.strip()
    match = DUE_PATTERN.match(due)
    if match and match.group(1):
        amount, unit = match.group(1), match.group(2)
        if len(amount) > 6 or int(amount) > MAX_DUE[unit]:
            return f"due time {due[:40]!r} is more than a year ({MAX_DUE[unit]}{unit})"
        if int(amount) == 0:
            return f"due time {due[:40]!r} is zero: give at least 1{unit}"
        return None
    if match:
        return None
    try:
        duration = isodate.parse_duration(due)
    except (isodate.ISO8601Error, ValueError, OverflowError):
        return f"due time {due[:40]!r} is not understood: use e.g. 1WD, 4WH, same-day or PT4H"
    try:
        period = _SOME_DAY + duration - _SOME_DAY
    except (OverflowError, ValueError, TypeError):
        period = None  # beyond the calendar
    if period is None or not timedelta(0) < period <= MAX_DUE_PERIOD:
        return f"due time {due[:40]!r} must be more than nothing and at most a year"
    if period < bounds.shortest:
        return f"due time {due[:40]!r} is shorter than {_say(bounds.shortest)}"
    return None


def _check_due_expression(task, source: str, bounds: TimerBounds) -> list[Problem]:
    if not source.strip():
        return [problem_at(task, "the due time expression after '=' is empty")]
    try:
        tree = check_source(source.strip(), "eval")
    except SyntaxError as err:
        return [
            problem_at(task, f"the due time expression does not compile ({err.msg})"),
        ]
    except SandboxViolation as err:
        return [problem_at(task, f"the due time expression is not allowed: {err}")]
    problems = []
    for node in due_results(tree.body):
        if not isinstance(node, ast.Constant):
            continue  # computed: checked when it runs (tasks/due.py falls back to same-day)
        if isinstance(node.value, str):
            wrong = due_problem(node.value, bounds)
        else:
            wrong = "a due time is a text such as '2WD'"
        if wrong:
            shown = repr(node.value)[:40]
            problems.append(problem_at(task, f"the due time expression can give {shown}: {wrong}"))
    return problems


def due_results(node: ast.AST):
    """The sub-expressions whose value can be the expression's value: the arms of ``if``/
    ``else``, of ``and``/``or``, a dict's values (read by ``[...]`` or ``.get``) and a
    ``.get`` default. Anything else is a result itself."""
    if isinstance(node, ast.IfExp):
        yield from due_results(node.body)
        yield from due_results(node.orelse)
    elif isinstance(node, ast.BoolOp | ast.Dict):
        for value in node.values:
            yield from due_results(value)
    elif isinstance(node, ast.Subscript) and isinstance(node.value, ast.Dict):
        yield from due_results(node.value)
    elif (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "get"
        and isinstance(node.func.value, ast.Dict)
    ):
        yield from due_results(node.func.value)
        for default in node.args[1:2]:
            yield from due_results(default)
    else:
        yield node


def _check_due_properties(task) -> list[Problem]:
    """``due_from`` names a user task of the same process or ``start``; no other ``due*``
    property is read, so one would only look like a rule (a diagram once said
    ``due_when_not_urgent`` and the service never knew)."""
    problems = []
    properties = task.xpath(
        "bpmn:extensionElements/camunda:properties/camunda:property", namespaces=NSMAP
    )
    for prop in properties:
        name = (prop.get("name") or "").strip()
        if not name.lower().startswith("due"):
            continue
        if name != DUE_FROM:
            problems.append(
                Problem(
                    task.get("id"),
                    prop.sourceline,
                    f"the property {name!r} is not read: the due time is camunda:dueDate "
                    "(e.g. 2WD, or an expression such as ='same-day' if urgent else '2WD'), "
                    f"counted from when the task opens or from the step named by {DUE_FROM!r}",
                )
            )
            continue
        step = (prop.get("value") or "").strip()
        if step == DUE_FROM_START or step in _user_tasks_of_process(task):
            continue
        problems.append(
            Problem(
                task.get("id"),
                prop.sourceline,
                f"{DUE_FROM} {step[:60]!r} names no user task of this process: name an earlier "
                f"user task (its last completion) or {DUE_FROM_START!r} (the instance's start)",
            )
        )
    return problems


def _user_tasks_of_process(task) -> set[str]:
    process = next(task.iterancestors(f"{{{NSMAP['bpmn']}}}process"), None)
    if process is None:
        return set()
    return set(process.xpath(".//bpmn:userTask/@id", namespaces=NSMAP))
