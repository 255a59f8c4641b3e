"""The Board's report page: the same figures as ``GET /api/reports/sharing``, as charts drawn
on the server (inline SVG) with a table beside each, a period form and the CSV download."""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, render_template, request, url_for

from records.periods import month_of
from records.reports import sharing_report
from service import trail
from service.access import access
from service.api.reports import READERS, period_from
from service.auth import current_user
from service.context import services, uow
from service.errors import ApiError
from service.openapi import HTML, spec
from service.pages.charts import bar_chart, stacked_chart

bp = Blueprint("reports_page", __name__)
DECISION_CHARTS = (
    ("by_outcome", "Decisions by outcome"),
    ("by_consent", "Shares with and without consent"),
    ("by_lawful_basis", "Shares by lawful basis"),
    ("by_agency", "Decisions by recipient agency"),
    ("by_month", "Decisions by month"),
)


@bp.app_context_processor
def reports_link() -> dict:
    """The header shows "Reports" to those who may read them."""
    user = current_user()
    return {"can_see_reports": user is not None and bool(set(user.roles) & set(READERS))}


def _charts(report: dict) -> list:
    decisions = report["decisions"]
    charts = [
        bar_chart(part, title, [(r["label"], r["count"]) for r in decisions[part]])
        for part, title in DECISION_CHARTS
    ]
    charts.append(
        stacked_chart(
            "tasks",
            "Steps completed on time and late, and steps open and overdue now",
            [
                (
                    f"{r['process']}: {r['name']}",
                    [("ok", r["on_time"]), ("late", r["late"]), ("overdue", r["open_late"])],
                )
                for r in report["tasks"]
            ],
        )
    )
    charts.append(
        bar_chart(
            "escalations",
            "Open escalations by stage",
            [(r["stage"], r["count"]) for r in report["open_escalations"]],
        )
    )
    return charts


@bp.get("/reports")
@access(*READERS)
@spec(
    "The Board's sharing report (a page)",
    responses={200: HTML, 302: None, 422: HTML},
    tag="pages",
)
def reports():
    args = {k: request.args.get(k, "") for k in ("period", "from", "to")}
    quarters = _quarters(services().clock.now())
    try:
        period = period_from(request.args)
    except ApiError as err:
        # Only the form and what is wrong: figures of some other period would read as the
        # answer to the question asked.
        page = render_template(
            "reports.html", report=None, args=args, error=err.message, quarters=quarters
        )
        return page, 422
    report = sharing_report(uow().session, period, services().clock.now())
    trail.note(detail={"report": "sharing", "format": "page"})
    return render_template(
        "reports.html",
        report=report,
        charts=_charts(report),
        args=args,
        error=None,
        csv_url=url_for("reports.sharing", format="csv", **{k: v for k, v in args.items() if v}),
        quarters=quarters,
    )


def _quarters(now: datetime, count: int = 8) -> list[tuple[str, str]]:
    """The form's choice of quarters: the current one and the seven before it."""
    year, month = month_of(now)
    quarter = (month - 1) // 3 + 1
    choices = [("", "Choose a quarter")]
    for _ in range(count):
        first, last = MONTH_NAMES[3 * quarter - 3], MONTH_NAMES[3 * quarter - 1]
        choices.append((f"{year}-Q{quarter}", f"{year} Q{quarter} ({first} to {last})"))
        year, quarter = (year - 1, 4) if quarter == 1 else (year, quarter - 1)
    return choices


MONTH_NAMES = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
