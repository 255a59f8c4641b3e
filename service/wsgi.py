"""The WSGI application for gunicorn: ``gunicorn -c python:service.gunicorn_conf``.

Built once in gunicorn's master (``preload_app``) and inherited by every worker. The timer
scheduler is *not* started here: a thread does not survive ``fork``, so each worker starts its
own after it is born (``service/gunicorn_conf.py``).
"""

from __future__ import annotations

import sys

from service.app import create_app
from service.config import ConfigError

try:
    app = create_app()
except ConfigError as err:  # one line naming the setting, not a traceback (exit status 2)
    print(f"safeguard: {err}", file=sys.stderr)
    sys.exit(2)
