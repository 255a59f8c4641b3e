"""The Board's report on information sharing: JSON for tools, CSV for spreadsheets."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from service.access import access
from service.api.schemas_reports import CSV, ReportQuery, SharingReport
from service.app import services, uow
from service.errors import ApiError
from service.openapi import spec
from service.records import trail
from service.records.report_csv import to_csv
from service.records.reports import Period, parse_bound, sharing_report
from tasks.calendar import DEFAULT_CALENDAR

bp = Blueprint("reports", __name__)
READERS = ("board", "manager", "admin")


def period_from(args) -> Period:
    """The ``from``/``to`` query arguments as a :class:`Period` (400 naming what is wrong)."""
    try:
        start = parse_bound(args.get("from"), end=False, calendar=DEFAULT_CALENDAR)
        end = parse_bound(args.get("to"), end=True, calendar=DEFAULT_CALENDAR)
    except ValueError as err:
        raise ApiError(400, "bad_request", f"{err}.") from None
    if start and end and end <= start:
        raise ApiError(400, "bad_request", "'to' must be after 'from'.")
    return Period(start, end)


def csv_response(report: dict) -> Response:
    """The report as a CSV download named for its period."""
    day = report["generated_at"][:10]
    return Response(
        to_csv(report).encode("utf-8"),
        mimetype="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="sharing-report-{day}.csv"',
            "Content-Type": "text/csv; charset=utf-8",
        },
    )


@bp.get("/reports/sharing")
@access(*READERS)
@spec(
    'Sharing report for the Board (counts of 1-4 shown as "<5"; no child identifiers)',
    query=ReportQuery,
    responses={200: {"application/json": SharingReport, **CSV}},
)
def sharing():
    fmt = request.args.get("format", "json")
    if fmt not in ("json", "csv"):
        raise ApiError(400, "bad_request", "format must be json or csv.")
    report = sharing_report(uow().session, period_from(request.args), services().clock.now())
    trail.note(detail={"report": "sharing", "format": fmt})
    if fmt == "csv":
        return csv_response(report)
    return jsonify(report)
