"""Request and response models of the Board's reports (api.md, "reports").

Counts are ``int | "<5" | "[c]"``: small numbers are suppressed, and counts that would give one
away by subtraction withheld, in every exported form, JSON included
(``records.disclosure``).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from service.api.schemas import Model

Count = Annotated[int, Field(ge=0)] | Literal["<5", "[c]"]


class ReportQuery(Model):
    """Whole calendar months in Europe/London only (``records.periods``); anything
    else is 422 naming the field."""

    period: str | None = Field(
        None, description="A month (YYYY-MM) or a quarter (YYYY-Q1 … YYYY-Q4); not with from/to"
    )
    from_: str | None = Field(
        None, alias="from", description="First month, YYYY-MM or its first day YYYY-MM-01"
    )
    to: str | None = Field(
        None, description="Last month (included), YYYY-MM or its last day (YYYY-MM-30 etc.)"
    )
    format: Annotated[str, Field(pattern="^(json|csv)$")] = "json"


class LabelCount(Model):
    label: str
    count: Count


class Decisions(Model):
    total: Count
    by_outcome: list[LabelCount]
    by_consent: list[LabelCount]
    by_lawful_basis: list[LabelCount]
    by_agency: list[LabelCount]
    by_month: list[LabelCount]


class TimeToDecision(Model):
    unit: str
    decisions: Count
    median: float | None = Field(description="null when fewer than 5 decisions")
    p90: float | None = Field(description="90th percentile (nearest rank); null under 5")


class StepTimeliness(Model):
    process: str
    step: str
    name: str
    on_time: Count
    late: Count
    open_late: Count = Field(description="open now and past its due time, whatever the period")


class StageCount(Model):
    stage: str
    count: Count


class SharingReport(Model):
    from_: str | None = Field(alias="from", description="start of the first month (UTC)")
    to: str | None = Field(description="start of the month after the last (UTC, exclusive)")
    months: list[str] = Field(description="the months covered, YYYY-MM")
    generated_at: str
    small_numbers: str
    decisions: Decisions
    time_to_decision: TimeToDecision
    tasks: list[StepTimeliness]
    open_escalations: list[StageCount]


CSV = {"text/csv": {"type": "string", "description": "section,item,measure,value (UTF-8, BOM)"}}
