"""Smoke test of the production web stack: gunicorn, production settings, WhiteNoise.

``python -m devtools.smoke --port 8099`` (CI runs it after the test suite):
migrates the database named by ``DATABASE_URL`` (a PostgreSQL one is dropped
and created afresh: give it a name of its own), collects static files into a
temporary folder, creates a brand and a key, starts gunicorn with
``booking_project/gunicorn.conf.py`` and production settings, and then, over
real HTTP, reads the landing page, a hashed static file (with its far-future
cache header), the API docs, refuses a request without a key, creates an
instructor with a schedule, reads free slots and books one. Any surprise
exits non-zero with the reason.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


class SmokeFailure(Exception):
    pass


def request(url: str, *, method: str = "GET", key: str | None = None, body: dict | None = None):
    """(status, headers, text) of one HTTP request; error statuses are answers, not exceptions."""
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Content-Type": "application/json"} if body is not None else {}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    req = urllib.request.Request(url, data=data, method=method, headers=headers)  # noqa: S310 - local URL
    try:
        with urllib.request.urlopen(req, timeout=10) as response:  # noqa: S310
            return response.status, response.headers, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read().decode()


def expect(condition: bool, what: str) -> None:
    if not condition:
        raise SmokeFailure(what)
    print(f"  ok  {what}", flush=True)


def manage(env: dict, *args: str) -> str:
    result = subprocess.run(  # noqa: S603
        [str(BIN / "python"), "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    if result.returncode:
        raise SmokeFailure(f"manage.py {' '.join(args)} failed:\n{result.stderr[-3000:]}")
    return result.stdout


def fresh_database(url: str) -> None:
    """A PostgreSQL ``DATABASE_URL`` names a throwaway database: drop and create it."""
    if not url.startswith(("postgres://", "postgresql://")):
        return
    import psycopg

    parsed = urllib.parse.urlsplit(url)
    name = parsed.path.lstrip("/")
    maintenance = parsed._replace(path="/postgres").geturl().replace("postgres://", "postgresql://", 1)
    with psycopg.connect(maintenance, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}"')
        connection.execute(f'CREATE DATABASE "{name}"')


def wait_until_up(base: str, process: subprocess.Popen, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SmokeFailure(f"gunicorn exited with {process.returncode}")
        try:
            request(f"{base}/")
            return
        except OSError:
            time.sleep(0.2)
    raise SmokeFailure(f"gunicorn did not answer within {seconds} s")


def checks(base: str, key: str, static_root: Path) -> None:
    status, _, page = request(f"{base}/")
    expect(status == 200 and "Coaching bookings" in page, "GET / answers the landing page")

    manifest = json.loads((static_root / "staticfiles.json").read_text())["paths"]
    hashed = manifest["admin/css/base.css"]
    status, headers, _ = request(f"{base}/static/{hashed}")
    cache = headers.get("Cache-Control", "")
    expect(status == 200 and "immutable" in cache, f"WhiteNoise serves /static/{hashed} ({cache})")

    status, _, _ = request(f"{base}/api/docs/")
    expect(status == 200, "GET /api/docs/ answers")
    status, _, _ = request(f"{base}/api/bookings/instructors")
    expect(status == 401, "the API refuses a request without a key (401)")

    status, _, text = request(
        f"{base}/api/instructors",
        method="POST",
        key=key,
        body={"name": "Smoke Coach", "email": "smoke@example.com", "timezone": "UTC"},
    )
    expect(status == 201, f"POST /api/instructors creates an instructor ({status})")
    instructor_id = json.loads(text)["id"]
    weekly = [{"weekday": day, "start": "00:00", "end": "23:00"} for day in range(7)]
    status, _, _ = request(
        f"{base}/api/bookings/availability",
        method="PUT",
        key=key,
        body={"instructor_id": instructor_id, "weekly": weekly, "buffer_minutes": 0},
    )
    expect(status == 200, "PUT /api/bookings/availability stores a schedule")
    status, _, text = request(
        f"{base}/api/event-types", method="POST", key=key, body={"name": "Smoke session", "duration_minutes": 60}
    )
    expect(status == 201, "POST /api/event-types creates a session type")
    event_type_id = json.loads(text)["id"]
    tomorrow = (dt.datetime.now(dt.UTC) + dt.timedelta(days=1)).date().isoformat()
    status, _, text = request(
        f"{base}/api/bookings/availability?instructorId={instructor_id}&startDate={tomorrow}&days=1"
        f"&eventTypeId={event_type_id}",
        key=key,
    )
    slots = json.loads(text)["slots"] if status == 200 else []
    expect(status == 200 and len(slots) > 0, f"GET /api/bookings/availability lists {len(slots)} free slots")
    status, _, text = request(
        f"{base}/api/bookings",
        method="POST",
        key=key,
        body={
            "instructor_id": instructor_id,
            "event_type_id": event_type_id,
            "start_at": slots[0]["start_at"],
            "attendee_name": "Smoke Student",
            "attendee_email": "student@example.com",
        },
    )
    expect(status == 201, f"POST /api/bookings books the first slot ({status})")
    status, _, text = request(
        f"{base}/api/bookings",
        method="POST",
        key=key,
        body={
            "instructor_id": instructor_id,
            "event_type_id": event_type_id,
            "start_at": slots[0]["start_at"],
            "attendee_name": "Second Student",
            "attendee_email": "second@example.com",
        },
    )
    expect(status == 409 and json.loads(text)["reason"] == "taken", "the same slot again is 409 taken")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.smoke")
    parser.add_argument("--port", type=int, default=8099)
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="smoke-") as folder:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "booking_project.settings.production",
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DJANGO_SECURE_SSL_REDIRECT": "false",
            "BOOKING_VAR_DIR": folder,
            "PORT": str(args.port),
            "BIND_HOST": "127.0.0.1",
            "WEB_CONCURRENCY": "2",
        }
        env.setdefault("DATABASE_URL", f"sqlite:///{folder}/smoke.sqlite3")
        static_root = Path(folder) / "static"
        print(f"Smoke test of gunicorn + production settings on port {args.port}", flush=True)
        fresh_database(env["DATABASE_URL"])
        manage(env, "migrate", "--noinput")
        manage(env, "collectstatic", "--noinput")
        brand_slug = f"smoke-{secrets.token_hex(4)}"
        key = manage(env, "createbrand", brand_slug, "--scope", "secret").strip().splitlines()[-1]
        gunicorn = subprocess.Popen(  # noqa: S603
            [str(BIN / "gunicorn"), "booking_project.wsgi", "-c", "booking_project/gunicorn.conf.py"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            base = f"http://127.0.0.1:{args.port}"
            wait_until_up(base, gunicorn)
            checks(base, key, static_root)
        except SmokeFailure as failure:
            print(f"SMOKE TEST FAILED: {failure}", file=sys.stderr)
            gunicorn.send_signal(signal.SIGTERM)
            print(gunicorn.communicate(timeout=30)[1][-3000:], file=sys.stderr)
            return 1
        gunicorn.send_signal(signal.SIGTERM)
        gunicorn.wait(timeout=30)
        print("Smoke test passed.", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
