"""The WSGI application for gunicorn: ``gunicorn -c python:service.gunicorn_conf``.

Built once in gunicorn's master (``preload_app``) and inherited by every worker. The timer
scheduler is *not* started here: a thread does not survive ``fork``, so each worker starts its
own after it is born (``service/gunicorn_conf.py``).
"""

from __future__ import annotations

from service.app import create_app

app = create_app()
