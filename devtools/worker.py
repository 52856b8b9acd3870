"""A real Celery worker process for integration tests (``pytest`` only).

The test process publishes tasks for real (eager mode off) to a queue of its
own; a ``celery worker`` subprocess, started with the test settings and
``CELERY_EAGER=0``, consumes that queue only, reading the test database. So
the work crosses the broker and a process boundary as in production, and
other tests' workers never take these tasks.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from booking_project.celery import app as celery_app


def database_url() -> str:
    """The test database (not the configured one) as a URL for the worker."""
    db = connection.settings_dict
    if db["ENGINE"] == "django.db.backends.sqlite3":
        return f"sqlite:///{db['NAME']}"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    port = f":{db['PORT']}" if db.get("PORT") else ""
    return f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}{port}/{db['NAME']}"


def start_worker(queue: str, log_path: Path, env: Mapping[str, str] | None = None) -> subprocess.Popen:
    """A solo worker on ``queue`` with the test settings; its output goes to ``log_path``."""
    root = Path(settings.BASE_DIR)
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "booking_project.settings.test",
        "CELERY_EAGER": "0",
        "DATABASE_URL": database_url(),
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "BOOKING_VAR_DIR": str(settings.VAR_DIR),
        "PYTHONUNBUFFERED": "1",
        **(env or {}),
    }
    for name in ("TWILIO_EDGE", "TWILIO_REGION", "REDIS_URL"):
        environment.pop(name, None)
    command = [
        str(root / ".venv" / "bin" / "celery"),
        "-A",
        "booking_project",
        "worker",
        "-P",
        "solo",
        "-Q",
        queue,
        "-n",
        f"{queue}@%h",
        "--without-heartbeat",
        "--without-gossip",
        "--without-mingle",
        "--loglevel",
        "INFO",
    ]
    log = log_path.open("w")
    return subprocess.Popen(command, cwd=root, env=environment, stdout=log, stderr=subprocess.STDOUT)


def stop_worker(worker: subprocess.Popen) -> None:
    if worker.poll() is None:
        worker.terminate()
        try:
            worker.wait(timeout=15)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait(timeout=5)


def wait_until(condition: Callable[[], bool], timeout: float, what: str, log_path: Path) -> None:
    """Poll ``condition``; fail the test with the worker's log when it does not hold in time."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} within {timeout}s. Worker log:\n{log_path.read_text()[-4000:]}")
        time.sleep(0.2)


@contextlib.contextmanager
def publishing_to(queue: str, *tasks) -> Iterator[None]:
    """This process publishes ``tasks`` for real (not eagerly), to ``queue`` only."""
    was_eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = False
    for task in tasks:
        task.queue = queue
        task._exec_options = None  # the task caches its routing options
    try:
        yield
    finally:
        celery_app.conf.task_always_eager = was_eager
        for task in tasks:
            task.queue = None
            task._exec_options = None
