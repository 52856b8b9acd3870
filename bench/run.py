"""``make bench``: start the production stack, load data, measure, print one table, write it, stop everything.

    .venv/bin/python -m bench [--port 8150] [--only availability,engine] [--reminders-timeout 150]

The stack (``bench.stack``): PostgreSQL and Redis as found, a fresh database
``BENCH_DATABASE_URL`` (default ``postgres://postgres@127.0.0.1:5432/booking_bench``,
dropped and created), Redis database ``BENCH_REDIS_URL`` (default
``redis://127.0.0.1:6379/10``, emptied), gunicorn, a Celery worker and beat
started with the ``Procfile``'s commands and production settings, and the
Resend, Twilio and webhook stand-ins (``devtools.standins``) in this process,
on ``--port`` + 1, 2, 3. Logs go to ``var/bench/``. Whatever happens (a
failure, Ctrl-C, ``kill``), every process started here is stopped.

Every measurement is a function in ``MEASUREMENTS``; each returns rows of
``bench.results.Measurement``, and one failing measurement is reported as
such without losing the others.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import secrets
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path

from bench import results
from bench.context import Context
from bench.measurements import availability, booking_create, engine, query_counts, reminders, webhooks
from bench.stack import ROOT, Stack, StackFailure, fresh_database, procfile_commands

DEFAULT_DATABASE = "postgres://postgres@127.0.0.1:5432/booking_bench"
DEFAULT_REDIS = "redis://127.0.0.1:6379/10"
LOG_DIR = ROOT / "var" / "bench"

# The order matters: reminders run last, because the backlog they may leave behind is dropped with the stack,
# and booking creation's confirmation emails must be sent before the reminders' clock starts.
MEASUREMENTS: list[tuple[str, Callable[[Context], list[results.Measurement]]]] = [
    ("engine", engine.measure),
    ("availability", availability.measure),
    ("query_counts", query_counts.measure),
    ("booking_create", booking_create.measure),
    ("webhooks", webhooks.measure),
    ("reminders", reminders.measure),
]


def production_env(*, port: int, database_url: str, redis_url: str, var_dir: str, standins) -> dict[str, str]:
    """The environment of every process of the stack, the bench's own included (see devtools/smoke.py)."""
    resend, twilio, _ = standins
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "booking_project.settings.production",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
        "DJANGO_SECURE_SSL_REDIRECT": "false",
        "BOOKING_VAR_DIR": var_dir,
        "SITE_URL": f"http://127.0.0.1:{port}",
        "PORT": str(port),
        "BIND_HOST": "127.0.0.1",
        "DATABASE_URL": database_url,
        "CELERY_BROKER_URL": redis_url,
        "BENCH_ENDPOINTS": "true",
        # The webhook receiver of the run listens on 127.0.0.1.
        "WEBHOOK_ALLOW_PRIVATE_TARGETS": "true",
        "LOG_LEVEL": "WARNING",
        "RESEND_API_KEY": "re_bench",
        "RESEND_API_URL": resend.url,
        "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
        "TWILIO_AUTH_TOKEN": "bench",
        "TWILIO_FROM_NUMBER": "+15005550006",
        "TWILIO_WHATSAPP_FROM": "whatsapp:+15005550006",
        "TWILIO_API_URL": twilio.url,
    }


def machine_description() -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        postgres = cursor.fetchone()[0].split()[0]
    model = ""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = f" ({line.split(':', 1)[1].strip()})"
                break
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    return (
        f"{os.cpu_count()} cores{model}, Python {platform.python_version()}, PostgreSQL {postgres}, "
        f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, load average at the start {load}"
    )


def start(stack: Stack, *, port: int, var_dir: str) -> Context:
    """Everything up, in order; returns what the measurements need."""
    import redis

    from devtools.standins import ResendStandin, TwilioStandin, WebhookReceiver

    (Path(var_dir) / "static").mkdir()  # nothing is collected: the API serves no static files
    database_url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE)
    redis_url = os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS)
    print("Starting the stack", flush=True)
    stack.ensure_postgres()
    stack.ensure_redis()
    fresh_database(database_url)
    redis.Redis.from_url(redis_url).flushdb()
    standins = (
        ResendStandin("127.0.0.1", port + 1).start(),
        TwilioStandin("127.0.0.1", port + 2).start(),
        WebhookReceiver("127.0.0.1", port + 3).start(),
    )
    stack.on_stop(*(standin.stop for standin in standins))
    env = production_env(port=port, database_url=database_url, redis_url=redis_url, var_dir=var_dir, standins=standins)
    os.environ.update(env)
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from bench import dataset, floor

    call_command("migrate", interactive=False, verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute(floor.CREATE_FLOOR_TABLE)
    brand, secret_key, public_key = dataset.bench_brand()

    commands = procfile_commands()
    stack.start("web", commands["web"], env)
    stack.start("worker", commands["worker"], env)
    stack.start("beat", commands["beat"], env)
    stack.wait_for_http(f"http://127.0.0.1:{port}/")
    stack.wait_for_log("worker", "ready")
    print(f"  gunicorn on :{port}, worker and beat up; logs in {stack.log_dir}", flush=True)
    return Context(
        host="127.0.0.1",
        port=port,
        brand=brand,
        secret_key=secret_key,
        public_key=public_key,
        resend=standins[0],
        twilio=standins[1],
        webhook=standins[2],
        stack=stack,
    )


def run_measurements(context: Context, names: set[str] | None, options: dict) -> tuple[list, list[str]]:
    rows: list[results.Measurement] = []
    failures: list[str] = []
    for name, measure in MEASUREMENTS:
        if names and name not in names:
            continue
        print(f"\n== {name}", flush=True)
        started = time.perf_counter()
        try:
            rows.extend(measure(context, **options.get(name, {})))
            context.stack.check_running()
        except (KeyboardInterrupt, StackFailure):
            raise
        except Exception as error:  # noqa: BLE001 - reported, and the other measurements still run
            traceback.print_exc()
            failures.append(name)
            rows.append(results.Measurement(f"{name}: FAILED", None, "", note=f"{name} failed: {error!r}"))
        print(f"   ({time.perf_counter() - started:.0f} s)", flush=True)
    return rows, failures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8150, help="gunicorn's port; the stand-ins use the next three")
    parser.add_argument("--only", default="", help=f"comma-separated, of: {', '.join(n for n, _ in MEASUREMENTS)}")
    parser.add_argument("--reminders-timeout", type=float, default=reminders.TIMEOUT_SECONDS)
    args = parser.parse_args(argv)
    names = {name.strip() for name in args.only.split(",") if name.strip()} or None
    unknown = (names or set()) - {name for name, _ in MEASUREMENTS}
    if unknown:
        parser.error(f"unknown measurement(s): {', '.join(sorted(unknown))}")

    began = time.perf_counter()
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="bench-") as var_dir, Stack(log_dir=LOG_DIR) as stack:
        try:
            context = start(stack, port=args.port, var_dir=var_dir)
            machine = machine_description()
            rows, failures = run_measurements(context, names, {"reminders": {"timeout": args.reminders_timeout}})
        except KeyboardInterrupt:
            print("\nInterrupted: stopping everything.", file=sys.stderr, flush=True)
            return 130
        except StackFailure as failure:
            print(f"\nThe stack failed: {failure}", file=sys.stderr, flush=True)
            return 1
        finally:
            print("\nStopping the stack", flush=True)
    table = results.markdown(rows, machine=machine)
    print("\n" + table)
    if names is None:
        markdown_path, json_path = results.write(rows, machine=machine)
        print(f"Written to {markdown_path.relative_to(ROOT)} and {json_path.relative_to(ROOT)}.")
    else:
        print("(--only: bench/results/ left as it was)")
    print(f"make bench took {time.perf_counter() - began:.0f} s.")
    return 1 if failures else 0
