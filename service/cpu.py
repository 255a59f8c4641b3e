"""CPU time per request, by route, for the benchmarks (off unless ``SAFEGUARD_CPU_LOG`` is set).

Wall-clock latency on a shared 2-CPU machine says little about what a request costs; the CPU
the service thread spends on it does. The middleware samples ``time.thread_time()`` around the
whole WSGI call (Flask's dispatch, every hook, the view, the JSON body) and appends one line
``METHOD route cpu_ms`` to the file, ids in the path replaced by ``{id}`` so lines group by
route. ``benchmarks/api.py`` truncates the file when its measured phase begins and reads it
after. Work done on other threads (the audit flush, WAL checkpoints) is not in these figures;
the benchmark reports the whole process's CPU beside them.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterable

# A uuid4 (every row id) or a long run of hex digits.
_ID = re.compile(r"/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}(?=/|$)")


def route_of(method: str, path: str) -> str:
    """``POST /api/tasks/<uuid>/complete`` -> ``POST /api/tasks/{id}/complete``."""
    return f"{method} {_ID.sub('/{id}', path)}"


class CpuMeter:
    """WSGI middleware: one line of CPU milliseconds per request, appended to ``path``."""

    def __init__(self, app: Callable, path: str):
        self.app = app
        self.lock = threading.Lock()
        self.out = open(path, "a", buffering=1, encoding="utf-8")  # noqa: SIM115 - for the process

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        began = time.thread_time()
        body = list(self.app(environ, start_response))  # the body is built in this thread
        spent = (time.thread_time() - began) * 1000
        route = route_of(environ.get("REQUEST_METHOD", ""), environ.get("PATH_INFO", ""))
        with self.lock:
            self.out.write(f"{route}\t{spent:.4f}\n")
        return body
