"""The Celery application ``booking_project``.

``celery -A booking_project worker --beat`` runs against Redis when
``CELERY_BROKER_URL`` (or ``REDIS_URL``) is set and against the embedded
filesystem broker otherwise (see ``settings/base.py``).
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "booking_project.settings.local")

app = Celery("booking_project")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
