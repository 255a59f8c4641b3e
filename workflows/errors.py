"""Errors the engine layer raises; the service maps each to one HTTP status."""

from __future__ import annotations

from dataclasses import asdict, dataclass

ERROR, WARNING = "error", "warning"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an uploaded diagram, placed where its author can find it.

    ``severity``: an ``error`` stops the deploy; a ``warning`` names something the service
    ignores without harm (an instruction text it does not show), so the author knows."""

    element_id: str | None
    line: int | None
    message: str
    severity: str = ERROR

    def to_dict(self) -> dict:
        return asdict(self)


def element_id_of(element) -> str | None:
    """The id of ``element`` or of its nearest ancestor that has one (an lxml element)."""
    while element is not None:
        if element.get("id"):
            return element.get("id")
        element = element.getparent()
    return None


def problem_at(element, message: str, severity: str = ERROR) -> Problem:
    """A problem placed on ``element``: its (or its nearest ancestor's) id and its start line."""
    return Problem(element_id_of(element), element.sourceline, message, severity)


class EngineError(Exception):
    """Base class: every error here carries a message fit for the person who caused it."""


class InvalidDefinition(EngineError):
    """A diagram failed validation; nothing was stored."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems  # the errors, and the warnings found with them
        super().__init__(f"{len(problems)} problem(s) in the diagram")


class NotFound(EngineError):
    pass


class Conflict(EngineError):
    """A change was made on a stale copy, or the thing changed was no longer in that state."""


class InvalidInput(EngineError):
    """Data sent to a running instance was refused; ``field`` names the offending part."""

    def __init__(self, message: str, field: str | None = None):
        self.field = field
        super().__init__(message)


class ScriptError(EngineError):
    """A script or condition in the diagram failed or broke the sandbox rules."""

    def __init__(self, message: str, element_id: str | None = None, line: int | None = None):
        self.element_id = element_id
        self.line = line
        super().__init__(message)
