"""What the inbox page lists: its filters (kind, step, overdue), its order, and the team view.

Why on the page and not in the query: an inbox holds tens of items, drawn from three sources
(escalations, the team's overdue work, steps waiting for advice or a decision); they are
gathered first (``service/pages/inbox.py``) and filtered here, so every filter means the same
for every source. A value the form could not have sent is refused, naming the field (422).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime

from workflows.errors import InvalidInput

VIEWS = {"inbox": "My inbox", "team": "My team's open work"}
KINDS = {
    "overdue": "Overdue work",
    "disagreements": "Disagreements",
    "advice": "Requests for advice",
}
SORTS = {
    "due": "Due soonest first",
    "holder": "Who holds it",
    "process": "Process and case",
    "step": "Step",
}
MAX_STEP = 400  # a step's name is at most this long (task.name)


@dataclass(frozen=True)
class InboxFilters:
    """The inbox's query string, checked: ``""`` means all."""

    view: str = "inbox"
    kind: str = ""
    step: str = ""
    overdue: bool = False
    sort: str = "due"

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> InboxFilters:
        """``InvalidInput`` naming the first field whose value the form could not have sent."""
        view = args.get("view", "") or "inbox"
        kind = args.get("kind", "")
        sort = args.get("sort", "") or "due"
        overdue = args.get("overdue", "")
        step = args.get("step", "").strip()
        for field, value, allowed in (
            ("view", view, VIEWS),
            ("kind", kind, {"": "", **KINDS}),
            ("sort", sort, SORTS),
            ("overdue", overdue, {"": "", "yes": ""}),
        ):
            if value not in allowed:
                raise InvalidInput(f"Choose one of the listed values for {field}", field=field)
        if len(step) > MAX_STEP:
            raise InvalidInput("No step has so long a name", field="step")
        return cls(view, kind if view == "inbox" else "", step, overdue == "yes", sort)

    @property
    def active(self) -> bool:
        return self != InboxFilters(view=self.view, sort=self.sort)

    def args(self, **changes: object) -> dict[str, str]:
        """The query string of these filters (with ``changes``), for links and redirects."""
        chosen = replace(self, **changes)
        found = {
            "view": chosen.view if chosen.view != "inbox" else "",
            "kind": chosen.kind,
            "step": chosen.step,
            "overdue": "yes" if chosen.overdue else "",
            "sort": chosen.sort if chosen.sort != "due" else "",
        }
        return {name: value for name, value in found.items() if value}


def step_name(item: dict) -> str:
    task = item["task"]
    return task.name or task.element_id


def steps_of(sections: Mapping[str, list[dict]]) -> list[str]:
    """The step names listed, for the step filter's choices."""
    return sorted({step_name(item) for items in sections.values() for item in items}, key=str.lower)


def _order(sort: str, now: datetime):
    far = datetime.max.replace(tzinfo=now.tzinfo)

    def due(item: dict) -> tuple:
        task = item["task"]
        return (task.due_at or far, task.id)

    keys = {
        "due": due,
        "holder": lambda item: (item["task"].assignee or "~", *due(item)),
        "process": lambda item: (item["process_key"] or "", item["business_key"] or "", *due(item)),
        "step": lambda item: (step_name(item).lower(), *due(item)),
    }
    return keys[sort]


def choose(
    sections: dict[str, list[dict]], filters: InboxFilters, now: datetime
) -> dict[str, list[dict]]:
    """The sections with only the items the filters keep, each in the chosen order; a section
    of another kind than the one asked for comes back empty."""
    order = _order(filters.sort, now)
    chosen = {}
    for kind, items in sections.items():
        kept = [
            item
            for item in items
            if (not filters.kind or filters.kind == kind)
            and (not filters.step or step_name(item) == filters.step)
            and (not filters.overdue or item["status"] == "overdue")
        ]
        chosen[kind] = sorted(kept, key=order)
    return chosen
