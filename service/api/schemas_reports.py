"""Request and response models of the Board's reports (api.md, "reports").

Counts are ``int | "<5" | "[c]"``: small numbers are suppressed, and counts that would give one
away by subtraction withheld, in every exported form, JSON included
(``service.records.disclosure``).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from service.api.schemas import Model

Count = Annotated[int, Field(ge=0)] | Literal["<5", "[c]"]


class ReportQuery(Model):
    from_: str | None = Field(
        None, alias="from", description="YYYY-MM-DD (from that day) or ISO 8601 with offset"
    )
    to: str | None = Field(
        None, description="YYYY-MM-DD (up to and including that day) or ISO 8601 (exclusive)"
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


class StageCount(Model):
    stage: str
    count: Count


class SharingReport(Model):
    from_: str | None = Field(alias="from")
    to: str | None
    generated_at: str
    small_numbers: str
    decisions: Decisions
    time_to_decision: TimeToDecision
    tasks: list[StepTimeliness]
    open_escalations: list[StageCount]


CSV = {"text/csv": {"type": "string", "description": "section,item,measure,value (UTF-8, BOM)"}}
