"""Test settings: fast hashing, in-memory email, tasks run by hand or eagerly.

``DATABASE_URL`` and ``CELERY_BROKER_URL`` still come from the environment so
that ``.ci/run`` proves the suite on PostgreSQL and Redis.
"""

from .base import *  # noqa: F403
from .base import REST_FRAMEWORK

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
SITE_URL = "http://testserver"
REST_FRAMEWORK = {**REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": dict(REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"])}
# Tests run tasks in-process unless they start a real worker themselves.
CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = False
