from __future__ import annotations

from flask import Blueprint, jsonify
from sqlalchemy import text

from service.access import access
from service.api.schemas import Health
from service.context import services
from service.openapi import spec

bp = Blueprint("health", __name__)


@bp.get("/healthz")
@access(public=True)
@spec("Liveness and database check", responses={200: Health, 503: Health}, tag="operations")
def healthz():
    scheduler = services().scheduler
    state = "not_started" if scheduler is None else ("ok" if scheduler.running else "down")
    checks = {"status": "ok", "db": "ok", "scheduler": state}
    if state == "down":
        checks["status"] = "down"
    try:
        with services().db.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception:
        checks["db"] = "down"
        checks["status"] = "down"
    return jsonify(checks), (503 if checks["status"] == "down" else 200)
