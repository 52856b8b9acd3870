"""Settings shared by every environment, all read through django-environ.

The defaults make a fresh checkout run with no services and no secrets:
SQLite in ``var/`` and an embedded filesystem broker for Celery. Production
points ``DATABASE_URL`` at PostgreSQL and ``CELERY_BROKER_URL`` at Redis.
"""

import datetime as dt
from pathlib import Path

import environ
from celery.schedules import crontab

BASE_DIR = Path(__file__).resolve().parent.parent.parent
# Local state of the embedded defaults: the SQLite file and the broker queue.
VAR_DIR = Path(environ.Env().str("BOOKING_VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

env = environ.Env()
env_file = BASE_DIR / ".env"
if env_file.exists():
    environ.Env.read_env(str(env_file))

SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="insecure-local-development-key-change-me")
DEBUG = env.bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"])
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    # django.contrib.admin with the back office's site (dashboard, business apps first).
    "booking_project.apps.BackOfficeAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework_api_key",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "booking_project",  # project-wide management commands (demo)
    "scheduling",
    "bookings",
    "notifications",
    "webhooks",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Static files straight from the web process, compressed and cached (no separate file server needed).
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # A database that cannot answer is a 503 "try again", not a 500 (booking_project/database_outage.py).
    "booking_project.database_outage.DatabaseOutageMiddleware",
]

ROOT_URLCONF = "booking_project.urls"
WSGI_APPLICATION = "booking_project.wsgi.application"
ASGI_APPLICATION = "booking_project.asgi.application"
# Every API path answers with and without a trailing slash (docs/api.md), so the
# slash is never added by a redirect.
APPEND_SLASH = False

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}")}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # IMMEDIATE transactions take SQLite's write lock at BEGIN, which is what
    # serialises booking writes on the embedded database (see bookings.services).
    DATABASES["default"].setdefault("OPTIONS", {})
    DATABASES["default"]["OPTIONS"].setdefault("transaction_mode", "IMMEDIATE")
    DATABASES["default"]["OPTIONS"].setdefault("timeout", 20)
    DATABASES["default"]["OPTIONS"].setdefault("init_command", "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"  # filled by `collectstatic` in production
STATIC_ROOT.mkdir(exist_ok=True)
# Without collectstatic (development, tests) WhiteNoise serves the apps' static files directly.
WHITENOISE_USE_FINDERS = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    # The twilio SDK logs every request's headers at INFO.
    "loggers": {"twilio.http_client": {"level": "WARNING"}},
}

# --- Django REST framework -------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "booking_project.api.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["booking_project.api.permissions.HasBrand"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_THROTTLE_RATES": {
        # Public keys' booking creation: never below 60/min per key;
        # secret keys are not throttled at all.
        "public_write": env.str("THROTTLE_PUBLIC_WRITE_RATE", default="60/min"),
    },
    "EXCEPTION_HANDLER": "booking_project.api.errors.exception_handler",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Coaching booking API",
    "DESCRIPTION": "Brands, instructors, availability, bookings, events and webhooks.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI's assets are served from this app, not a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "BookingStatusEnum": "bookings.models.BookingStatus",
        "PaymentStatusEnum": "bookings.models.PaymentStatus",
        "PaymentRecordStatusEnum": "bookings.models.Payment.Status",
        "BookingTargetStatusEnum": ["confirmed", "completed", "cancelled", "no_show"],
        "WaivedPaymentStatusEnum": ["waived"],
        "PaymentResultStatusEnum": ["succeeded", "failed"],
    },
}

# --- Celery -------------------------------------------------------------------
# Without a broker URL we use kombu's filesystem transport under var/, so the
# web process, the worker and beat share a queue with nothing installed.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=env.str("REDIS_URL", default="filesystem://"))
BROKER_IS_EMBEDDED = CELERY_BROKER_URL.startswith("filesystem://")
if BROKER_IS_EMBEDDED:
    _broker_dir = VAR_DIR / "broker"
    for _folder in ("out", "processed", "control"):
        (_broker_dir / _folder).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "out"),
        "data_folder_out": str(_broker_dir / "out"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
# The queue tasks go to when nothing routes them (a test's worker gets a queue of its own).
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_TASK_DEFAULT_QUEUE", default="celery")
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
CELERY_TIMEZONE = "UTC"
CELERY_ENABLE_UTC = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# --- Notification delivery (docs/notifications.md, "Delivery") -------------------
# Seconds before a provider request counts as failed (then retried with backoff).
NOTIFICATIONS_PROVIDER_TIMEOUT = env.float("NOTIFICATIONS_PROVIDER_TIMEOUT", default=10.0)
# A worker's claim on a message lapses after this many seconds: the send task is
# killed at that age (Celery time limit) and starts no provider request that could
# outlast it, so a claim still held after it belongs to a dead worker; the sweep
# then logs the attempt as lost and sends the message again.
NOTIFICATIONS_LEASE_SECONDS = env.float("NOTIFICATIONS_LEASE_SECONDS", default=30.0)
# How often the sweep runs, and how long a due message is left to its own queued
# task before the sweep enqueues it again (a task lost with a killed worker).
NOTIFICATIONS_SWEEP_SECONDS = env.float("NOTIFICATIONS_SWEEP_SECONDS", default=15.0)
NOTIFICATIONS_SWEEP_GRACE_SECONDS = env.float("NOTIFICATIONS_SWEEP_GRACE_SECONDS", default=30.0)
# Waits in seconds after the 1st, 2nd... failed attempt; after the last one the message is failed.
NOTIFICATIONS_RETRY_DELAYS = env.list("NOTIFICATIONS_RETRY_DELAYS", cast=float, default=[10, 60, 300, 1800, 7200])
# Provider requests one send task has in flight at once (threads waiting on the network).
NOTIFICATIONS_SEND_CONCURRENCY = env.int("NOTIFICATIONS_SEND_CONCURRENCY", default=16)
# Seconds between two reminder passes; 0 (the default) runs one at the start of every minute.
REMINDERS_PASS_SECONDS = env.float("REMINDERS_PASS_SECONDS", default=0)

# Periodic work is declared here (UTC) and synced into django-celery-beat's
# PeriodicTask rows when beat starts; the tasks live in each app's tasks.py.
CELERY_BEAT_SCHEDULE: dict = {
    # Send due booking reminders (notifications.tasks). "expire_seconds" (django-celery-beat):
    # a tick queued while the workers were down expires; the next tick does the work.
    "process-due-reminders": {
        "task": "notifications.process_due_reminders",
        "schedule": dt.timedelta(seconds=REMINDERS_PASS_SECONDS) if REMINDERS_PASS_SECONDS else crontab(minute="*"),
        "options": {"expire_seconds": 50},
    },
    # Re-enqueue notifications left pending (broker down at commit, a task lost with its
    # worker, retry waits) and take back those whose worker died while sending.
    "notifications-sweep": {
        "task": "notifications.sweep_notifications",
        "schedule": dt.timedelta(seconds=NOTIFICATIONS_SWEEP_SECONDS),
        "options": {"expire_seconds": max(1, int(NOTIFICATIONS_SWEEP_SECONDS))},
    },
    # Send webhook deliveries that are due (retries waiting in the database, lost tasks, dead workers).
    "webhooks-send-due": {
        "task": "webhooks.send_due_deliveries",
        "schedule": crontab(minute="*"),
        "options": {"expire_seconds": 50},
    },
}

# --- Providers ----------------------------------------------------------------
RESEND_API_KEY = env.str("RESEND_API_KEY", default="") or env.str("RESEND_SMTP_KEY", default="")
RESEND_FROM_EMAIL = env.str("RESEND_FROM_EMAIL", default="Bookings <bookings@example.com>")
RESEND_API_URL = env.str("RESEND_API_URL", default="https://api.resend.com").rstrip("/")
TWILIO_ACCOUNT_SID = env.str("TWILIO_ACCOUNT_SID", default="")
TWILIO_AUTH_TOKEN = env.str("TWILIO_AUTH_TOKEN", default="")
TWILIO_FROM_NUMBER = env.str("TWILIO_FROM_NUMBER", default="")
TWILIO_WHATSAPP_FROM = env.str("TWILIO_WHATSAPP_FROM", default="")
TWILIO_API_URL = env.str("TWILIO_API_URL", default="https://api.twilio.com").rstrip("/")
# Email without RESEND_API_KEY goes here ("console": logged; "memory": kept in a list, for tests).
NOTIFICATIONS_LOCAL_BACKEND = "console"
# Force a backend per channel ("resend", "twilio", "console", "memory"), e.g. {"sms": "console"}.
NOTIFICATIONS_BACKENDS: dict = {}
BOOKING_REMINDER_CRON_SECRET = env.str("BOOKING_REMINDER_CRON_SECRET", default="")

# --- Webhooks -------------------------------------------------------------------
# Webhook URLs may point at loopback/private/link-local addresses only when true
# (local development and tests); production keeps the SSRF guard on.
WEBHOOK_ALLOW_PRIVATE_TARGETS = env.bool("WEBHOOK_ALLOW_PRIVATE_TARGETS", default=False)
# Seconds one delivery attempt may take (connect, answer and the first 64 KiB of its body).
WEBHOOK_TIMEOUT_SECONDS = env.float("WEBHOOK_TIMEOUT_SECONDS", default=10.0)
# Deliveries one worker process posts at the same time (threads; the database work stays on one).
WEBHOOK_SEND_CONCURRENCY = env.int("WEBHOOK_SEND_CONCURRENCY", default=16)

# --- Benchmark ------------------------------------------------------------------
# Mounts bench/floor.py's endpoints under /bench/. Only `make bench` turns it on; never in a deployment.
BENCH_ENDPOINTS = env.bool("BENCH_ENDPOINTS", default=False)
