from django.urls import include, path

from booking_project.routers import OptionalSlashRouter

from .views import BookingViewSet, EventViewSet

router = OptionalSlashRouter()
router.register("bookings", BookingViewSet, basename="booking")
router.register("events", EventViewSet, basename="event")

urlpatterns: list = [
    # Fixed paths under /api/bookings/ (instructors, availability) come before {id}.
    path("", include("bookings.api.availability_urls")),
    path("", include(router.urls)),
]
