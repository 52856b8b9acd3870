from django.urls import path

from . import feeds, views

urlpatterns = [
    path("booking/<uuid:uid>/", views.booking_manage, name="booking-manage"),
    path(
        "feeds/instructors/<int:instructor_id>/<slug:token>.ics",
        feeds.instructor_calendar_feed,
        name="instructor-calendar-feed",
    ),
]
