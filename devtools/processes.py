"""Real processes for the integration and fault tests: Celery worker and beat, redis-server, gunicorn.

Each process is started in a session of its own, with its output in a log
file, so a test can stop it, or kill it with ``SIGKILL`` as a crash would
(the whole process group: a prefork worker's children die with it), and
show its log when something does not happen in time.

The worker and beat run the test settings with ``CELERY_EAGER=0``, the test
database (:func:`database_url`) and the provider stand-ins' URLs; each test
gives them a Celery queue of its own (``CELERY_TASK_DEFAULT_QUEUE``), so the
tasks they publish themselves (retries, sweeps, reminder passes) stay with
them and other tests' workers never take them.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PORTS = range(8170, 8190)
"""Ports the tests' own servers may use (redis-server, gunicorn)."""


def database_url(settings_dict: Mapping) -> str:
    """A Django connection's settings (the test database, not the configured one) as a URL."""
    if settings_dict["ENGINE"] == "django.db.backends.sqlite3":
        return f"sqlite:///{settings_dict['NAME']}"
    password = f":{settings_dict['PASSWORD']}" if settings_dict.get("PASSWORD") else ""
    port = f":{settings_dict['PORT']}" if settings_dict.get("PORT") else ""
    host = settings_dict["HOST"] or "127.0.0.1"
    return f"postgres://{settings_dict['USER']}{password}@{host}{port}/{settings_dict['NAME']}"


@dataclass
class Process:
    name: str
    popen: subprocess.Popen
    log_path: Path
    port: int | None = None

    @property
    def running(self) -> bool:
        return self.popen.poll() is None

    def log(self, last: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-last:]
        except FileNotFoundError:
            return ""

    def kill(self) -> None:
        """``SIGKILL`` to the whole process group, as a crash: no cleanup, no acknowledgements."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        self.popen.wait(timeout=10)

    def stop(self, timeout: float = 15) -> None:
        """``SIGTERM`` to the group, then ``SIGKILL`` if it lingers."""
        if not self.running:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGTERM)
        try:
            self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()


def start(name: str, command: list[str], *, env: Mapping[str, str], log_path: Path) -> Process:
    log = log_path.open("w")
    popen = subprocess.Popen(  # noqa: S603 - our own commands
        command, cwd=ROOT, env=dict(env), stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    log.close()
    return Process(name, popen, log_path)


@contextlib.contextmanager
def running(process: Process) -> Iterator[Process]:
    try:
        yield process
    finally:
        process.stop()


def app_environment(
    *,
    database: str,
    broker: str,
    queue: str,
    var_dir: str,
    resend_url: str = "",
    twilio_url: str = "",
    providers: Mapping[str, str] | None = None,
    **settings: str | float | int,
) -> dict[str, str]:
    """The environment of a worker, beat or web process of the tests.

    ``providers``: the provider credentials (``RESEND_API_KEY``...), pointed at
    the stand-ins' URLs; ``settings``: any further variables, such as
    ``NOTIFICATIONS_LEASE_SECONDS=6`` to make a fault show in seconds.
    """
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "booking_project.settings.test",
        "CELERY_EAGER": "0",
        "DATABASE_URL": database,
        "CELERY_BROKER_URL": broker,
        "CELERY_TASK_DEFAULT_QUEUE": queue,
        "BOOKING_VAR_DIR": var_dir,
        "PYTHONUNBUFFERED": "1",
    }
    for name in ("TWILIO_EDGE", "TWILIO_REGION", "REDIS_URL"):
        env.pop(name, None)
    if providers:
        env.update({"TEST_PROVIDERS_FROM_ENV": "1", "RESEND_API_URL": resend_url, "TWILIO_API_URL": twilio_url})
        env.update(providers)
    env.update({name: str(value) for name, value in settings.items()})
    return env


def celery_worker(
    *,
    env: Mapping[str, str],
    log_path: Path,
    pool: str = "prefork",
    concurrency: int = 2,
    beat_schedule: Path | None = None,
) -> Process:
    """``celery worker`` on the environment's queue; with ``beat_schedule``, beat runs inside it (``-B``)."""
    queue = env["CELERY_TASK_DEFAULT_QUEUE"]
    command = [
        str(BIN / "celery"),
        "-A",
        "booking_project",
        "worker",
        "-P",
        pool,
        "-Q",
        queue,
        "-n",
        f"{queue}-{time.monotonic_ns()}@%h",
        "--without-heartbeat",
        "--without-gossip",
        "--without-mingle",
        "--loglevel",
        "INFO",
    ]
    if pool == "prefork":
        command += ["--concurrency", str(concurrency)]
    if beat_schedule is not None:
        command += ["--beat", "--scheduler", "celery.beat:PersistentScheduler", "--schedule", str(beat_schedule)]
    return start("worker", command, env=env, log_path=log_path)


def celery_beat(*, env: Mapping[str, str], log_path: Path, schedule: Path) -> Process:
    """``celery beat`` with a file scheduler of its own (two of them do not share state, like two hosts)."""
    command = [
        str(BIN / "celery"),
        "-A",
        "booking_project",
        "beat",
        "--scheduler",
        "celery.beat:PersistentScheduler",
        "--schedule",
        str(schedule),
        "--loglevel",
        "INFO",
    ]
    return start("beat", command, env=env, log_path=log_path)


def redis_server(*, log_path: Path, port: int | None = None) -> Process:
    """A private redis-server that keeps nothing on disk: stopping it loses its queues.

    On ``port`` (to start one again where it was), else on the first of
    :data:`PORTS` it can bind.
    """
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("redis-server is not installed")

    def command(port: int) -> list[str]:
        options = ["--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        return [binary, *options, "--dir", str(log_path.parent)]

    return _listening(
        "redis",
        command,
        env=os.environ,
        log_path=log_path,
        ports=[port] if port else PORTS,
        ready=(lambda port: "Ready to accept connections"),
    )


def gunicorn(*, env: Mapping[str, str], log_path: Path, workers: int = 1) -> Process:
    """The production web server on the first free port of :data:`PORTS` (one sync worker by default)."""

    def command(port: int) -> list[str]:
        return [
            str(BIN / "gunicorn"),
            "booking_project.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--timeout",
            "60",
            "--access-logfile",
            "-",
            "--no-control-socket",
        ]

    return _listening("gunicorn", command, env=env, log_path=log_path, ports=PORTS, ready=lambda port: "Booting worker")


BIND_FAILURES = ("Connection in use", "Address already in use")


def _listening(name, command, *, env, log_path: Path, ports, ready, timeout: float = 30) -> Process:
    """Start a server on the first port it binds; ready once its log says so.

    The log, not a connection, decides: something else may listen on a port
    that was free a moment ago, and a test must never talk to it.
    """
    for port in ports:
        if port is None:
            continue
        process = start(name, command(port), env=env, log_path=log_path)
        process.port = port
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            log = process.log(last=10**6)
            if any(failure in log for failure in BIND_FAILURES) or not process.running:
                process.stop(timeout=5)
                break
            if ready(port) in log:
                return process
            time.sleep(0.1)
        else:
            process.stop(timeout=5)
            raise RuntimeError(f"{name} did not start on {port} within {timeout}s:\n{process.log()}")
    raise RuntimeError(f"{name} could bind none of the ports {list(ports)}:\n{process.log()}")


@contextlib.contextmanager
def publishing_to(queue: str, *, broker: str | None = None) -> Iterator[None]:
    """This process publishes its tasks for real (not eagerly) to ``queue``, on ``broker`` if given.

    The test process writes bookings and their notification rows; a real
    worker started on the same queue (and broker) sends them.
    """
    from booking_project.celery import app

    conf = app.conf
    saved = (conf.task_always_eager, conf.task_default_queue)
    conf.task_always_eager = False
    conf.task_default_queue = queue
    if broker:
        _publish_to(app, broker)
    try:
        yield
    finally:
        conf.task_always_eager, conf.task_default_queue = saved
        if broker:
            _publish_to(app, None)


def _publish_to(app, broker: str | None) -> None:
    """Publish on ``broker`` (``None``: the configured one again).

    ``broker_write_url``, because a ``CELERY_BROKER_URL`` in the environment
    outranks ``broker_url`` set at run time; kombu keeps a connection pool
    per URL, so the app only has to pick its pool again.
    """
    app.conf.broker_write_url = broker
    app._pool = None
    app.amqp._producer_pool = None


def wait_until(condition: Callable[[], object], *, timeout: float, what: str, logs: tuple[Process, ...] = ()) -> None:
    """Poll ``condition`` until it is true; past ``timeout`` raise with ``what`` and the processes' logs.

    A generous deadline, never a speed assertion: it only bounds how long a
    broken build makes the suite wait.
    """
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            details = "\n".join(f"--- {process.name} log ---\n{process.log()}" for process in logs)
            raise AssertionError(f"{what} within {timeout}s.\n{details}")
        time.sleep(0.2)
