"""gunicorn settings for production (``make serve-prod``): several worker processes, each
with its own timer scheduler, on one database (PostgreSQL).

Process model (docs/internals.md, "Processes and faults"):

- The master imports the app once (``preload_app``: parsed diagrams, templates and the secret
  key are shared by every worker) and forks ``WEB_WORKERS`` workers (default 4) of
  ``WEB_THREADS`` threads each (default 4, ``gthread``).
- ``post_fork``: a worker must not use the database connections it inherited from the master
  (two processes on one socket garble each other's conversations), so it drops the pool
  without closing the master's sockets and opens its own.
- ``post_worker_init``: every worker starts a :class:`~tasks.scheduler.TimerScheduler`. That is
  safe because the ``timer`` table is the truth: a due row is claimed by exactly one worker
  (``FOR UPDATE SKIP LOCKED``) with a lease, and its effects commit in one transaction with
  ``mark_fired``. A worker killed while firing leaves the row ``claimed``; when the lease
  (``TIMER_LEASE_SECONDS``) runs out, another worker claims it and fires it, once. No separate
  scheduler process to deploy, watch or fail over.
- Graceful shutdown (SIGTERM, or SIGHUP for a reload): workers stop accepting, finish what they
  are doing within ``graceful_timeout``, then stop their scheduler, waiting for a timer being
  fired, insert the audit events of reads still queued, and close their connections
  (``worker_exit``).
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

# Safe before PROMETHEUS_MULTIPROC_DIR is set: the config module imports no metrics.
from service.config import ConfigError, load

# Every setting checked before gunicorn starts: a bad one is one line and status 2.
try:
    _settings = load()
except ConfigError as err:
    print(f"safeguard: {err}", file=sys.stderr)
    sys.exit(2)

wsgi_app = "service.wsgi:app"
bind = f"{_settings.get('HOST', '127.0.0.1')}:{_settings.get('PORT', 5000)}"
workers = _settings.get("WEB_WORKERS", 4)
worker_class = "gthread"
threads = _settings.get("WEB_THREADS", 4)
preload_app = True
timeout = _settings.get("WEB_TIMEOUT", 60)  # a worker silent this long is replaced
graceful_timeout = 30
keepalive = 5
accesslog = None  # the app writes its own JSON access line (service/logs.py)
errorlog = "-"
proc_name = "safeguard-flow"
# gunicorn 27's control socket lives at one path per user (~/.gunicorn/gunicorn.ctl): two
# services on one host (or the tests) would fight over it. Signals do the same job.
control_socket_disable = True


# Metrics of every worker in one scrape (prometheus_client's multiprocess mode): each process
# writes its counters to files here, ``/metrics`` adds them up. Set before the app (and so
# prometheus_client) is imported; emptied at start so a previous run's counts do not linger.
_OWN_METRICS_DIR = not os.environ.get("PROMETHEUS_MULTIPROC_DIR")
if _OWN_METRICS_DIR:
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="safeguard-metrics-")
METRICS_DIR = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
METRICS_DIR.mkdir(parents=True, exist_ok=True)
for stale in METRICS_DIR.glob("*.db"):
    stale.unlink()


def _services():
    from service.wsgi import app

    return app, app.extensions["safeguard"]


def post_fork(server, worker) -> None:
    """Forget the master's connections (without closing them under the master's feet)."""
    _, services = _services()
    services.db.dispose(close=False)


def post_worker_init(worker) -> None:
    """Each worker fires due timers; the timer table's claims keep that to once per timer."""
    from service.scheduling import start_scheduler

    app, _ = _services()
    start_scheduler(app)
    worker.log.info("worker %s: timer scheduler started", worker.pid)


def worker_exit(server, worker) -> None:
    """Stop the scheduler (letting a timer being fired finish), insert the audit events of
    reads still queued (none is lost on a clean exit) and close connections."""
    _, services = _services()
    if services.scheduler is not None:
        services.scheduler.shutdown(wait=True)
    try:
        services.audit_queue.close()
    except Exception:
        worker.log.exception("worker %s: queued audit events not inserted", worker.pid)
    services.db.dispose()


def child_exit(server, worker) -> None:
    """A worker is gone: its live gauges no longer count (its counters still do)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server) -> None:
    """The counters end with the service; a directory made for them goes too."""
    if _OWN_METRICS_DIR:
        shutil.rmtree(METRICS_DIR, ignore_errors=True)
