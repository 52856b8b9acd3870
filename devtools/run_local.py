"""``make run``: the web app, a Celery worker with the beat scheduler, and the
provider stand-ins, in one terminal, with no services installed.

* Without provider settings in the environment, the Resend and Twilio
  stand-ins (``devtools.standins``) start in this process on ports 8025/8026
  (``--resend-port``/``--twilio-port``) and the app is pointed at them, so every email and SMS goes through the
  real SDKs and is printed here as it arrives. ``--no-standins`` keeps the
  console backends instead; setting ``RESEND_API_KEY``/``TWILIO_*`` yourself
  uses whatever they point at.
* A webhook receiver listens on 127.0.0.1:8027 (the demo subscribes
  ``/demo`` to every event): each delivery is verified with the
  subscription's secret (``var/demo-webhook-secret.txt``, written by
  ``manage.py demo``) using the ``standardwebhooks`` library, and printed
  here. The local settings allow webhooks to private addresses
  (``WEBHOOK_ALLOW_PRIVATE_TARGETS`` defaults to true there).
* The worker and beat share the embedded filesystem broker (``var/broker``)
  unless ``CELERY_BROKER_URL`` is set.

Ctrl-C stops everything.
"""

from __future__ import annotations

import argparse
import datetime
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from standardwebhooks import Webhook, WebhookVerificationError

from devtools.standins import ResendStandin, TwilioStandin, WebhookReceiver

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
WEBHOOK_PORT = 8027
WEBHOOK_SECRET_FILE = ROOT / "var" / "demo-webhook-secret.txt"


def _log(line: str) -> None:
    print(f"{datetime.datetime.now():%H:%M:%S} [stand-in] {line}", flush=True)


def describe_delivery(request: dict, secret_file: Path = WEBHOOK_SECRET_FILE) -> str:
    """One line for a received webhook: what it is, and whether its signature verifies with the demo secret."""
    headers = dict(request["headers"])
    message_id = request["headers"].get("webhook-id", "no webhook-id")
    if not secret_file.exists():
        return f"{message_id} not verified: no {secret_file.name} (run `python manage.py demo`)"
    try:
        body = Webhook(secret_file.read_text().strip()).verify(request["raw_body"], headers)
    except WebhookVerificationError as error:
        return f"{message_id} signature INVALID ({error})"
    data = body.get("data") or {}
    about = f" booking {data['booking_id']} ({data.get('status')})" if "booking_id" in data else ""
    return f"{body.get('type')}{about} {message_id}: signature valid"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.run_local")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--no-standins", action="store_true", help="use the console backends instead")
    parser.add_argument("--resend-port", type=int, default=8025, help="port of the Resend stand-in")
    parser.add_argument("--twilio-port", type=int, default=8026, help="port of the Twilio stand-in")
    args = parser.parse_args(argv)

    env = dict(os.environ)
    env.setdefault("DJANGO_SETTINGS_MODULE", "booking_project.settings.local")
    env.setdefault("SITE_URL", f"http://127.0.0.1:{args.port}")
    env.setdefault("PYTHONUNBUFFERED", "1")
    standins = []
    receiver = None
    if not args.no_standins:
        receiver = WebhookReceiver("127.0.0.1", WEBHOOK_PORT, log=_log, describe=describe_delivery).start()
    uses_own_providers = any(env.get(name) for name in ("RESEND_API_KEY", "RESEND_SMTP_KEY", "TWILIO_ACCOUNT_SID"))
    if not args.no_standins and not uses_own_providers:
        resend_server = ResendStandin("127.0.0.1", args.resend_port, log=_log).start()
        twilio_server = TwilioStandin("127.0.0.1", args.twilio_port, log=_log).start()
        standins = [resend_server, twilio_server]
        env.update(
            RESEND_API_KEY="re_dev",
            RESEND_API_URL=resend_server.url,
            TWILIO_ACCOUNT_SID="AC00000000000000000000000000000000",
            TWILIO_AUTH_TOKEN="dev",  # noqa: S105 - the local stand-in's token
            TWILIO_FROM_NUMBER="+15005550006",
            TWILIO_WHATSAPP_FROM="whatsapp:+15005550006",
            TWILIO_API_URL=twilio_server.url,
        )

    processes = [
        subprocess.Popen(
            [str(BIN / "celery"), "-A", "booking_project", "worker", "--beat", "-l", "info", "--concurrency", "2"],
            cwd=ROOT,
            env=env,
        ),
        subprocess.Popen(
            [str(BIN / "python"), "manage.py", "runserver", f"127.0.0.1:{args.port}", "--noreload"],
            cwd=ROOT,
            env=env,
        ),
    ]
    key_file = ROOT / "var" / "demo-api-key.txt"
    key = key_file.read_text().strip() if key_file.exists() else "(run `python manage.py demo`)"
    site = env["SITE_URL"]

    def banner() -> None:
        time.sleep(3)
        lines = [
            "",
            "=" * 72,
            f"  Booking platform running at {site}/",
            f"  Book a session:        {site}/demo/  (the demo brand's page, as a student sees it)",
            f"  Admin:                 {site}/admin/  (user 'admin', password 'demo-admin-password')",
            f"  API docs:              {site}/api/docs/",
            f"  Demo API key (secret): {key}",
            f"  Try:  curl -H 'Authorization: Bearer {key}' {site}/api/bookings/instructors",
        ]
        if standins:
            lines.append(f"  Emails/SMS go to local stand-ins ({standins[0].url}, {standins[1].url}) and print here.")
        if receiver is not None:
            lines.append(f"  Webhooks go to {receiver.url}/demo, are verified with the demo secret and print here.")
        lines += ["  Ctrl-C stops the server, the worker and beat.", "=" * 72, ""]
        print("\n".join(lines), flush=True)

    threading.Thread(target=banner, daemon=True).start()

    def stop(*_args) -> None:
        for process in processes:
            if process.poll() is None:
                process.terminate()

    signal.signal(signal.SIGTERM, stop)
    try:
        while all(process.poll() is None for process in processes):
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        stop()
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
        for server in [*standins, *([receiver] if receiver else [])]:
            server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
