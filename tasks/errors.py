"""Refusals of the human-work layer; the service turns them into 403 and 422 answers."""

from __future__ import annotations


class Forbidden(Exception):
    """The person may see the task but may not act on it (not a candidate, not its manager)."""


class FormInvalid(Exception):
    """Submitted answers break the task's form; ``problems`` name each field."""

    def __init__(self, problems: list):
        self.problems = problems
        super().__init__("Some answers are not valid.")
