"""BPMN timer events that read the engine's injected clock instead of the system time.

SpiffWorkflow 3.2's timer event definitions (``bpmn/specs/event_definitions/timer.py``) call
``datetime.now(timezone.utc)`` in three places: when a duration timer is first reached (due =
now + duration), when ``has_fired``/``cycle_complete`` compare the due time with the present
(on every ``refresh_timers``), and when a duration-only cycle (``R3/P1D``) picks its first
firing. With the system clock, testing a two-day timer means waiting two days.

The subclasses below do the same with ``clock.now()``, where ``clock`` is the one given to the
workflow's script engine (``workflows.sandbox.make_script_engine(clock)``, which the ``Engine``
builds from its own clock). The script engine is set on every live workflow, also after loading,
so no global state is patched. The parser (``workflows.parsing.SafeguardParser``) builds these
classes through :func:`with_clocked_timers`; the serializer knows them under their own names
through :data:`SERIALIZER_CONFIG`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from SpiffWorkflow.bpmn.parser.event_parsers import EventDefinitionParser
from SpiffWorkflow.bpmn.serializer.config import TimerConditionalEventDefinitionConverter
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    CycleTimerEventDefinition,
    DurationTimerEventDefinition,
    TimeDateEventDefinition,
    TimerEventDefinition,
)


def clock_now(my_task) -> datetime:
    """The present for ``my_task``: its workflow's script-engine clock, else the system's."""
    clock = getattr(my_task.workflow.script_engine, "clock", None)
    return clock.now() if clock is not None else datetime.now(UTC)


class ClockedTimeDateEventDefinition(TimeDateEventDefinition):
    def has_fired(self, my_task) -> bool:
        event_value = my_task._get_internal_data("event_value")
        if event_value is None:
            event_value = my_task.workflow.script_engine.evaluate(my_task, self.expression)
            my_task._set_internal_data(event_value=event_value)
        due = TimerEventDefinition.parse_time_or_duration(event_value)
        if due <= clock_now(my_task):  # due means due: as the timers table decides
            my_task._set_internal_data(event_fired=True)
        return my_task._get_internal_data("event_fired", False)


class ClockedDurationTimerEventDefinition(DurationTimerEventDefinition):
    def has_fired(self, my_task) -> bool:
        now = clock_now(my_task)
        event_value = my_task._get_internal_data("event_value")
        if event_value is None:
            expression = my_task.workflow.script_engine.evaluate(my_task, self.expression)
            parsed = TimerEventDefinition.parse_iso_duration(expression)
            delta = TimerEventDefinition.get_timedelta_from_start(parsed, now)
            event_value = (now + delta).isoformat()
            my_task._set_internal_data(event_value=event_value)
        if TimerEventDefinition.get_datetime(event_value) <= now:
            my_task._set_internal_data(event_fired=True)
        return my_task._get_internal_data("event_fired", False)


class ClockedCycleTimerEventDefinition(CycleTimerEventDefinition):
    def cycle_complete(self, my_task) -> bool:
        now = clock_now(my_task)
        event_value = my_task._get_internal_data("event_value")
        if event_value is None:
            expression = my_task.workflow.script_engine.evaluate(my_task, self.expression)
            cycles, start, duration = parse_recurring_interval(expression, now)
            event_value = {
                "cycles": cycles,
                "next": start.isoformat(),
                "duration": duration.total_seconds(),
            }
        ready = False
        if event_value["cycles"] != 0:
            next_event = datetime.fromisoformat(event_value["next"])
            if next_event <= now:
                event_value["next"] = (
                    next_event + timedelta(seconds=event_value["duration"])
                ).isoformat()
                event_value["cycles"] -= 1
                ready = True
        else:
            my_task.internal_data.pop("event_value", None)
            my_task.internal_data["event_fired"] = True
        my_task._set_internal_data(event_value=event_value)
        return ready


def parse_recurring_interval(expression: str, now: datetime) -> tuple[int, datetime, timedelta]:
    """``R[n]/…`` as the library reads it, with "now" (duration-only cycles) from the clock."""
    components = expression.upper().replace("--", "/").strip("R").split("/")
    if len(components) == 2 and components[1].startswith("P"):
        cycles = int(components[0]) if components[0] else -1
        parsed = TimerEventDefinition.parse_iso_duration(components[1])
        duration = TimerEventDefinition.get_timedelta_from_start(parsed, now)
        return cycles, now + duration, duration
    return TimerEventDefinition.parse_iso_recurring_interval(expression)


CLOCKED = {
    TimeDateEventDefinition: ClockedTimeDateEventDefinition,
    DurationTimerEventDefinition: ClockedDurationTimerEventDefinition,
    CycleTimerEventDefinition: ClockedCycleTimerEventDefinition,
}

SERIALIZER_CONFIG = dict.fromkeys(CLOCKED.values(), TimerConditionalEventDefinitionConverter)


class ClockedTimerParserMixin:
    """Event parsers that build the clocked timer definitions."""

    def parse_timer_event(self, event):
        definition = super().parse_timer_event(event)
        clocked = CLOCKED.get(type(definition))
        if clocked is None:
            return definition
        return clocked(definition.name, definition.expression, description=definition.description)


def with_clocked_timers(parser_classes: dict) -> dict:
    """The tag → (parser, spec) map with every event parser building clocked timers."""
    result = {}
    for tag, (parser_class, spec_class) in parser_classes.items():
        if isinstance(parser_class, type) and issubclass(parser_class, EventDefinitionParser):
            name = f"Clocked{parser_class.__name__}"
            parser_class = type(name, (ClockedTimerParserMixin, parser_class), {})
        result[tag] = (parser_class, spec_class)
    return result
