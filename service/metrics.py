"""``GET /metrics`` in Prometheus text format: HTTP traffic and the state of the casework.

Why a registry per app: tests (and a future worker process) build several apps in one process;
the global ``prometheus_client.REGISTRY`` would refuse the second set of metrics and mix their
counts. Each app keeps its own ``CollectorRegistry`` in ``app.extensions["safeguard_metrics"]``.

Labels never carry identifiers: ``route`` is the URL rule template
(``/api/process-instances/<instance_id>``), never the concrete path, so a case's key cannot
reach the metrics store and the number of series stays bounded.

The casework gauges (instances by state, open and overdue tasks, pending timers) are computed at
scrape time with a handful of ``COUNT`` queries on indexed columns, instead of being kept in step
with every change in every process.

Access: with ``METRICS_TOKEN`` unset the endpoint is open, like ``/healthz`` — the service binds
to 127.0.0.1 unless told otherwise. Set ``METRICS_TOKEN`` when the port is reachable from
elsewhere; the scraper then sends ``Authorization: Bearer <token>`` and anything else gets 401.
"""

from __future__ import annotations

import hmac
import logging
import os
import re
import time
import weakref
from collections.abc import Iterator
from dataclasses import dataclass

from flask import Blueprint, Flask, current_app, g, request
from flask.wrappers import Response
from prometheus_client import CollectorRegistry, Counter, Histogram, multiprocess
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4, generate_latest
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from service.access import access
from service.errors import error_response
from service.openapi import spec
from storage import models
from storage.models import ProcessInstance, Task

log = logging.getLogger(__name__)

EXTENSION = "safeguard_metrics"
INSTANCE_STATES = ("running", "completed", "cancelled", "error")
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_CHANNEL = re.compile(r"[a-z][a-z0-9_]{0,31}")

bp = Blueprint("metrics", __name__)


@dataclass
class Metrics:
    """One app's registry and the metrics its code updates (the DB gauges are a collector)."""

    registry: CollectorRegistry
    requests: Counter
    duration: Histogram
    reminders: Counter
    sign_ins: Counter


# Lets ``count_reminder`` accept a bare registry (the reminders job may only hold that).
_by_registry: weakref.WeakKeyDictionary[CollectorRegistry, Metrics] = weakref.WeakKeyDictionary()


class CaseworkCollector(Collector):
    """Gauges read from the database at scrape time.

    A failing database must not make the whole scrape fail (the HTTP metrics are still worth
    having, and the failure itself is the news): the gauges are then left out and
    ``safeguard_metrics_db_up`` is 0.
    """

    def __init__(self, app: Flask):
        self._app = weakref.ref(app)

    def collect(self) -> Iterator[Metric]:
        app = self._app()
        if app is None:
            return
        up = GaugeMetricFamily(
            "safeguard_metrics_db_up", "1 if the casework gauges could be read from the database."
        )
        try:
            families = list(self._casework(app))
        except Exception as err:
            log.warning("metrics: casework gauges unavailable: %s", type(err).__name__)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from families

    def _casework(self, app: Flask) -> Iterator[Metric]:
        services = app.extensions["safeguard"]
        now = services.clock.now()
        open_task = Task.status == "open"
        with services.db.connect() as connection:
            by_state = dict.fromkeys(INSTANCE_STATES, 0)
            rows = connection.execute(
                select(ProcessInstance.status, func.count()).group_by(ProcessInstance.status)
            )
            for status, count in rows:
                by_state[status] = count
            tasks_open = connection.scalar(select(func.count()).select_from(Task).where(open_task))
            overdue = connection.scalar(
                select(func.count()).select_from(Task).where(open_task, Task.due_at < now)
            )
            timers = _pending_timers(connection)

        instances = GaugeMetricFamily(
            "safeguard_instances", "Process instances by state.", labels=["state"]
        )
        for state, count in sorted(by_state.items()):
            instances.add_metric([state], count)
        yield instances
        yield GaugeMetricFamily("safeguard_tasks_open", "User tasks waiting.", value=tasks_open)
        yield GaugeMetricFamily(
            "safeguard_tasks_overdue", "Open user tasks past their due time.", value=overdue
        )
        if timers is not None:
            yield GaugeMetricFamily(
                "safeguard_timers_pending", "Durable timers not yet fired.", value=timers
            )


def _pending_timers(connection) -> int | None:
    """Pending rows of the ``timer`` table, or ``None`` while this build has no such model.

    The timers table arrives with the timers work (design.md: ``timer(kind, due_at, instance,
    task, status, fired_at, claimed_by)``); until ``storage.models.Timer`` exists the metric is
    left out rather than reported as a misleading 0.
    """
    timer = getattr(models, "Timer", None)
    status = getattr(timer, "status", None)
    if timer is None or status is None:
        return None
    return connection.scalar(select(func.count()).select_from(timer).where(status == "pending"))


def _build(app: Flask) -> Metrics:
    registry = CollectorRegistry()
    metrics = Metrics(
        registry=registry,
        requests=Counter(
            "safeguard_http_requests",
            "HTTP requests answered.",
            ["method", "route", "status"],
            registry=registry,
        ),
        duration=Histogram(
            "safeguard_http_request_duration_seconds",
            "Time to answer an HTTP request.",
            ["method", "route"],
            registry=registry,
        ),
        reminders=Counter(
            "safeguard_reminders_sent",
            "Reminders sent, by channel.",
            ["channel"],
            registry=registry,
        ),
        sign_ins=Counter(
            "safeguard_sign_ins",
            "Sign-in attempts by outcome: ok, invalid_credentials, slow_down, locked.",
            ["outcome"],
            registry=registry,
        ),
    )
    registry.register(CaseworkCollector(app))
    _by_registry[registry] = metrics
    return metrics


def metrics_of(app_or_registry: Flask | CollectorRegistry | None = None) -> Metrics:
    """The ``Metrics`` of an app (default: the current one) or of its registry."""
    if isinstance(app_or_registry, CollectorRegistry):
        return _by_registry[app_or_registry]
    app = app_or_registry if app_or_registry is not None else current_app
    return app.extensions[EXTENSION]


def count_reminder(app_or_registry: Flask | CollectorRegistry | None, channel: str) -> None:
    """Count one reminder sent on ``channel`` (``email``, ``in_app``…); for ``tasks/reminders``.

    Takes the app or its registry because reminders are sent from scheduler jobs, outside any
    request. ``channel`` must be a short lower-case word: it becomes a label, and labels must stay
    few and free of personal data.
    """
    if not _CHANNEL.fullmatch(channel):
        raise ValueError(f"reminder channel must match {_CHANNEL.pattern}: {channel!r}")
    metrics_of(app_or_registry).reminders.labels(channel=channel).inc()


SIGN_IN_OUTCOMES = frozenset(
    {
        "ok",
        "invalid_credentials",
        "slow_down",
        "locked",
        # Through an identity provider (service/casework/sso_sign_in.py, service/oidc.py).
        "disabled",
        "unknown_user",
        "no_role",
        "no_username",
        "conflict",
        "bad_state",
        "bad_token",
        "provider_refused",
        "provider_unreachable",
    }
)


def count_sign_in(outcome: str) -> None:
    """Count one sign-in attempt of the current app by its outcome (a fixed few, never a name:
    a failed attempt's typed name must not become a label)."""
    if outcome not in SIGN_IN_OUTCOMES:
        raise ValueError(f"unknown sign-in outcome {outcome!r}")
    metrics_of().sign_ins.labels(outcome=outcome).inc()


def _labels() -> tuple[str, str]:
    method = request.method if request.method in _METHODS else "OTHER"
    rule = request.url_rule
    return method, (rule.rule if rule is not None else "<unmatched>")


def init_app(app: Flask) -> None:
    """Build the app's registry, time every request and serve ``GET /metrics``.

    Call it early in ``create_app`` (next to ``logs.init_app``) so requests refused by later
    ``before_request`` hooks are still timed. ``METRICS_TOKEN`` comes from the config, else the
    environment.
    """
    app.config.setdefault("METRICS_TOKEN", os.environ.get("METRICS_TOKEN") or None)
    metrics = _build(app)
    app.extensions[EXTENSION] = metrics

    @app.before_request
    def start_timer() -> None:
        g.metrics_started = time.perf_counter()

    @app.after_request
    def observe(response: Response) -> Response:
        started = g.pop("metrics_started", None)
        method, route = _labels()
        metrics.requests.labels(method, route, str(response.status_code)).inc()
        if started is not None:
            metrics.duration.labels(method, route).observe(time.perf_counter() - started)
        return response

    app.register_blueprint(bp)


def _token_ok(expected: str) -> bool:
    header = request.headers.get("Authorization", "")
    scheme, _, given = header.partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(given.strip().encode(), expected.encode())


@bp.get("/metrics")
@access(public=True)
@spec(
    "Prometheus metrics (text format 0.0.4)",
    description="Needs 'Authorization: Bearer <METRICS_TOKEN>' when that is set.",
    responses={200: {"text/plain": {"type": "string"}}},
    errors=(401,),
    tag="operations",
)
def scrape():
    token = current_app.config.get("METRICS_TOKEN")
    if token and not _token_ok(token):
        response, status = error_response(401, "unauthorized", "A valid metrics token is required.")
        response.headers["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response, status
    body = generate_latest(_scraped_registry())
    return Response(body, status=200, content_type=CONTENT_TYPE_PLAIN_0_0_4)


def _scraped_registry() -> CollectorRegistry:
    """This app's registry; under gunicorn (``PROMETHEUS_MULTIPROC_DIR``, set by
    ``service/gunicorn_conf.py``) every worker's counters added up, whichever worker answers."""
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return metrics_of().registry
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    registry.register(CaseworkCollector(current_app._get_current_object()))
    return registry
