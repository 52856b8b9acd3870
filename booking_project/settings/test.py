"""Test settings: fast hashing, tasks in-process unless a test starts a worker.

``DATABASE_URL`` and ``CELERY_BROKER_URL`` still come from the environment so
that ``.ci/run`` proves the suite on PostgreSQL and Redis.
"""

from .base import *  # noqa: F403
from .base import DATABASES, VAR_DIR, env

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
SITE_URL = "http://testserver"

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file, not SQLite's shared in-memory database, so concurrent tests see
    # the same locking (IMMEDIATE transactions, busy timeout) as `make run`.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-db.sqlite3")}

# Tests run tasks in-process unless they start a real worker themselves
# (which sets CELERY_EAGER=0 in the worker's environment).
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_EAGER", default=True)
CELERY_TASK_EAGER_PROPAGATES = False

# Tests never reach a real provider, whatever `.env` or the shell say: provider
# credentials are blank unless TEST_PROVIDERS_FROM_ENV=1 (set only for the
# worker that the integration test starts, pointed at in-process stand-ins).
# Email without credentials goes to the in-memory outbox (notifications.backends).
if not env.bool("TEST_PROVIDERS_FROM_ENV", default=False):
    RESEND_API_KEY = ""
    TWILIO_ACCOUNT_SID = TWILIO_AUTH_TOKEN = TWILIO_FROM_NUMBER = TWILIO_WHATSAPP_FROM = ""
NOTIFICATIONS_LOCAL_BACKEND = "memory"

# Tests deliver webhooks to receivers on 127.0.0.1; the guard's own tests switch it back on.
WEBHOOK_ALLOW_PRIVATE_TARGETS = True
