from __future__ import annotations

from flask import Blueprint, jsonify
from sqlalchemy import text

from service.access import access
from service.api.schemas import Health
from service.app import services
from service.openapi import spec

bp = Blueprint("health", __name__)


@bp.get("/healthz")
@access(public=True)
@spec("Liveness and database check", responses={200: Health, 503: Health}, tag="operations")
def healthz():
    checks = {"status": "ok", "db": "ok", "scheduler": "not_started"}
    try:
        with services().db.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception:
        checks["db"] = "down"
        checks["status"] = "down"
        return jsonify(checks), 503
    return jsonify(checks)
