"""Reminder cron endpoints: ``/api/bookings/reminders`` and ``/api/workers/process-booking-reminders``."""

from django.urls import re_path

from .views import ProcessRemindersView

urlpatterns = [
    re_path(r"^bookings/reminders/?$", ProcessRemindersView.as_view(), name="booking-reminders-process"),
    re_path(
        r"^workers/process-booking-reminders/?$",
        ProcessRemindersView.as_view(),
        name="workers-process-booking-reminders",
    ),
]
