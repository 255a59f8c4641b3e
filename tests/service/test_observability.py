"""Structured logs with a request id, and /metrics (service/logs.py, service/metrics.py)."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from service import logs, metrics
from service.access import access
from service.app import create_app
from service.context import services
from storage import UnitOfWork, make_engine
from storage.models import Task
from tests.support.helpers import (
    admin_client,
    assert_error,
    deploy_xml,
    open_task_id,
    start_instance,
)
from workflows.clock import FrozenClock

MONDAY_MORNING = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
CHILD = "child-4711"


class Lines(logging.Handler):
    """Collects the access log as the JSON lines the service writes."""

    def __init__(self):
        super().__init__()
        self.setFormatter(logs.JsonFormatter())
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))

    def entries(self) -> list[dict]:
        return [json.loads(line) for line in self.lines]


@pytest.fixture
def access_lines():
    handler = Lines()
    logger = logging.getLogger(logs.ACCESS_LOGGER)
    logger.addHandler(handler)
    yield handler
    logger.removeHandler(handler)


def scrape(client, **headers) -> dict[str, dict[tuple, float]]:
    """``{sample name: {sorted label items: value}}`` from ``GET /metrics``."""
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "text/plain"
    assert "version=0.0.4" in response.content_type
    samples: dict[str, dict[tuple, float]] = {}
    for family in text_string_to_metric_families(response.get_data(as_text=True)):
        for sample in family.samples:
            samples.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return samples


def _start(client, **fields) -> dict:
    response = start_instance(client, **fields)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


# -- logs ---------------------------------------------------------------------------------------
def test_a_request_writes_one_json_access_line_with_its_request_id(client, access_lines):
    response = client.get("/healthz")

    request_id = response.headers["X-Request-Id"]
    assert len(request_id) == 32 and int(request_id, 16) >= 0
    [entry] = access_lines.entries()
    assert entry["request_id"] == request_id
    assert entry["logger"] == "safeguard.access"
    assert entry["level"] == "INFO"
    assert (entry["method"], entry["route"], entry["status"]) == ("GET", "/healthz", 200)
    assert isinstance(entry["duration_ms"], float) and entry["duration_ms"] >= 0
    assert entry["time"].endswith("+00:00")
    assert entry["remote_addr"] == "127.0.0.1"
    assert entry["user"] == "ada"  # the signed-in caller, by username only
    assert len(access_lines.lines[0].splitlines()) == 1


def test_a_sane_incoming_request_id_is_kept(client, access_lines):
    response = client.get("/healthz", headers={"X-Request-Id": "proxy-1.2_abc"})
    assert response.headers["X-Request-Id"] == "proxy-1.2_abc"
    assert access_lines.entries()[0]["request_id"] == "proxy-1.2_abc"


@pytest.mark.parametrize(
    "incoming", ["", "x" * 65, "a b", 'id","level":"ERROR', "child/4711", "ümlaut"]
)
def test_an_insane_incoming_request_id_is_replaced(client, access_lines, incoming):
    response = client.get("/healthz", headers={"X-Request-Id": incoming})
    replaced = response.headers["X-Request-Id"]
    assert replaced != incoming and len(replaced) == 32
    assert access_lines.entries()[0]["request_id"] == replaced


def test_error_responses_carry_the_request_id_too(client, access_lines):
    response = client.get(f"/api/process-instances/{CHILD}")
    assert_error(response, 404)
    assert response.headers["X-Request-Id"] == access_lines.entries()[0]["request_id"]
    assert access_lines.entries()[0]["status"] == 404


def test_no_child_identifier_from_path_or_query_reaches_the_log(client, deployed, access_lines):
    started = _start(client, business_key=CHILD)
    client.get(f"/api/process-instances/{started['id']}")
    client.get(f"/api/process-instances?business_key={CHILD}")
    client.get(f"/no/such/route/{CHILD}")

    text = "\n".join(access_lines.lines)
    assert CHILD not in text
    assert started["id"] not in text
    routes = [entry["route"] for entry in access_lines.entries()]
    assert routes == [
        "/api/process-instances",
        "/api/process-instances/<instance_id>",
        "/api/process-instances",
        None,
    ]


def test_the_user_is_logged_when_authentication_has_set_one(app, client, access_lines):
    class User:
        username = "pat"

    @app.before_request
    def sign_in() -> None:
        from flask import g

        g.user = User()

    client.get("/healthz")
    assert access_lines.entries()[0]["user"] == "pat"


def test_exceptions_are_logged_as_type_and_short_message_never_sent_to_the_client(
    app, client, caplog
):
    @app.get("/boom")
    @access(public=True)
    def boom():
        raise RuntimeError("kaput\n" + "secret " * 100)

    with caplog.at_level(logging.ERROR):
        response = client.get("/boom")

    body = response.get_data(as_text=True)
    assert response.status_code == 500 and "kaput" not in body and "Traceback" not in body
    [record] = [r for r in caplog.records if r.exc_info]
    entry = json.loads(logs.JsonFormatter().format(record))
    assert entry["exc_type"] == "RuntimeError"
    assert entry["exc"] == "kaput"
    assert "raise RuntimeError" in entry["traceback"]


def test_database_errors_log_the_driver_message_not_the_parameters():
    class Driver(Exception):
        pass

    class Wrapped(Exception):
        orig = Driver("value too long for type character varying(200)")

        def __str__(self) -> str:
            return "(Driver) value too long\n[SQL: INSERT …]\n[parameters: ('Jane Doe, aged 9',)]"

    try:
        raise Wrapped()
    except Wrapped:
        record = logging.getLogger("t").makeRecord(
            "t", logging.ERROR, __file__, 1, "failed", None, __import__("sys").exc_info()
        )
    entry = json.loads(logs.JsonFormatter().format(record))
    assert entry["exc"] == "value too long for type character varying(200)"
    assert "Jane" not in json.dumps({k: v for k, v in entry.items() if k != "traceback"})


def test_init_app_installs_one_json_handler_on_the_root_logger(db_url):
    for _ in range(2):
        app = create_app({"DATABASE_URL": db_url, "LOG_LEVEL": "warning"})
        app.extensions["safeguard"].db.dispose()
    root = logging.getLogger()
    ours = [h for h in root.handlers if getattr(h, "_safeguard", False)]
    assert len(ours) == 1 and isinstance(ours[0].formatter, logs.JsonFormatter)
    assert root.level == logging.WARNING
    root.setLevel(logging.INFO)


# -- metrics ------------------------------------------------------------------------------------
def test_metrics_is_prometheus_text_and_counts_requests_by_route(client):
    client.get("/healthz")
    client.get("/healthz")
    client.get(f"/api/process-instances/{CHILD}")

    samples = scrape(client)
    requests = samples["safeguard_http_requests_total"]
    healthz = (("method", "GET"), ("route", "/healthz"), ("status", "200"))
    assert requests[healthz] == 2
    by_id = (
        ("method", "GET"),
        ("route", "/api/process-instances/<instance_id>"),
        ("status", "404"),
    )
    assert requests[by_id] == 1
    assert all(CHILD not in str(labels) for labels in requests)
    count = samples["safeguard_http_request_duration_seconds_count"]
    assert count[(("method", "GET"), ("route", "/healthz"))] == 2

    client.get("/healthz")
    assert scrape(client)["safeguard_http_requests_total"][healthz] == 3


def test_instances_by_state_and_open_tasks_count_what_was_started(client, deployed):
    for n in range(3):
        _start(client, business_key=f"child-{n}")
    cancelled = _start(client)
    response = client.post(
        f"/api/process-instances/{cancelled['id']}/cancel", json={"reason": "duplicate referral"}
    )
    assert response.status_code == 200, response.get_json()

    samples = scrape(client)
    instances = samples["safeguard_instances"]
    assert instances[(("state", "running"),)] == 3
    assert instances[(("state", "cancelled"),)] == 1
    assert instances[(("state", "completed"),)] == 0
    assert samples["safeguard_tasks_open"][()] == 3
    assert samples["safeguard_metrics_db_up"][()] == 1


def test_overdue_tasks_are_counted_with_the_injected_clock(db_url):
    clock = FrozenClock(MONDAY_MORNING)
    app = create_app({"DATABASE_URL": db_url, "TESTING": True}, clock=clock)
    try:
        client = admin_client(app)
        assert deploy_xml(client).status_code == 201
        instance = _start(client)
        # "describe" is due in 1WD: at the close of the next working day (Tuesday 17:00).
        task_id = open_task_id(app, instance["id"], "describe")
        with app.app_context(), UnitOfWork(services().session_factory) as unit:
            unit.session.get(Task, task_id).due_at = None  # a task without a due time...
            unit.commit()
        _start(client)
        assert scrape(client)["safeguard_tasks_overdue"][()] == 0

        clock.advance(timedelta(days=3))
        samples = scrape(client)
        assert samples["safeguard_tasks_overdue"][()] == 1  # ... is never overdue
        assert samples["safeguard_tasks_open"][()] == 2
    finally:
        app.extensions["safeguard"].db.dispose()


def test_timers_pending_is_left_out_until_the_timer_model_exists(client):
    from storage import models

    samples = scrape(client)
    assert ("safeguard_timers_pending" in samples) == hasattr(models, "Timer")


def test_reminders_are_counted_by_channel(app, client):
    metrics.count_reminder(app, "email")
    metrics.count_reminder(app, "email")
    metrics.count_reminder(metrics.metrics_of(app).registry, "in_app")

    reminders = scrape(client)["safeguard_reminders_sent_total"]
    assert reminders[(("channel", "email"),)] == 2
    assert reminders[(("channel", "in_app"),)] == 1
    with pytest.raises(ValueError):
        metrics.count_reminder(app, "Email to jane@example.org")


def test_each_app_has_its_own_registry(app, db_url):
    other = create_app({"DATABASE_URL": db_url, "TESTING": True})
    try:
        mine, theirs = metrics.metrics_of(app).registry, metrics.metrics_of(other).registry
        assert isinstance(mine, CollectorRegistry) and mine is not theirs
    finally:
        other.extensions["safeguard"].db.dispose()


def test_a_broken_database_leaves_the_http_metrics_and_reports_db_down(app, client):
    client.get("/healthz")
    app.extensions["safeguard"].db.dispose()
    app.extensions["safeguard"].db = make_engine("postgresql+psycopg://nobody@127.0.0.1:1/none")

    samples = scrape(client)
    assert samples["safeguard_metrics_db_up"][()] == 0
    assert "safeguard_instances" not in samples
    assert "safeguard_http_requests_total" in samples


# -- metrics token ------------------------------------------------------------------------------
@pytest.fixture
def guarded(db_url):
    app = create_app({"DATABASE_URL": db_url, "TESTING": True, "METRICS_TOKEN": "s3cret-token"})
    yield app.test_client()
    app.extensions["safeguard"].db.dispose()


@pytest.mark.parametrize(
    "authorization", [None, "Bearer wrong", "Basic s3cret-token", "Bearer ", "Bearer s3cret-tokenX"]
)
def test_metrics_token_is_required_when_configured(guarded, authorization):
    headers = {"Authorization": authorization} if authorization else {}
    response = guarded.get("/metrics", headers=headers)
    assert_error(response, 401, "unauthorized")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert "safeguard_" not in response.get_data(as_text=True)


def test_metrics_with_the_right_token(guarded):
    samples = scrape(guarded, Authorization="Bearer s3cret-token")
    assert samples["safeguard_metrics_db_up"][()] == 1
