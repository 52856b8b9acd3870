"""gunicorn settings for the web process: ``gunicorn booking_project.wsgi -c booking_project/gunicorn.conf.py``.

Everything can be overridden from the environment, the way platforms that
read a ``Procfile`` expect: ``PORT``, ``WEB_CONCURRENCY`` (worker processes),
``GUNICORN_THREADS``, ``GUNICORN_TIMEOUT``.

Sync workers (one request at a time each, ``threads=1`` by default): the app
does its slow work (providers, webhooks) in Celery, so a web request only
waits for the database, and a process per core or two keeps latency low and
predictable. ``preload_app`` imports Django once before forking (faster
start, shared memory); no database connection is opened at import, so none
is shared between workers.
"""

import multiprocessing
import os

bind = f"{os.environ.get('BIND_HOST', '0.0.0.0')}:{os.environ.get('PORT', '8000')}"  # noqa: S104 - behind a proxy
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1))
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 30
keepalive = 5
preload_app = True
accesslog = "-"
errorlog = "-"
# Trust X-Forwarded-* only from the proxy in front (default: localhost).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
