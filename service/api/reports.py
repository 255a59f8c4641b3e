"""The Board's report on information sharing: JSON for tools, CSV for spreadsheets."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from records import periods
from records.periods import Period
from records.report_csv import to_csv
from records.reports import sharing_report
from service import trail
from service.access import access
from service.api.schemas_reports import CSV, ReportQuery, SharingReport
from service.context import services, uow
from service.errors import ApiError
from service.openapi import spec
from workflows.roles import REPORT_READERS

bp = Blueprint("reports", __name__)
READERS = REPORT_READERS


def period_from(args) -> Period:
    """The period the query names (``periods.parse``): 422 naming the field if it is not whole
    London months."""
    try:
        return periods.parse(args)
    except periods.PeriodError as err:
        detail = [{"field": err.field, "message": err.message}]
        raise ApiError(422, "invalid_input", f"{err.field} {err.message}.", detail) from None


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
    errors=(422,),
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
