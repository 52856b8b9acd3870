"""``/api/instructors`` and ``/api/event-types`` (with or without the trailing slash)."""

from booking_project.routers import OptionalSlashRouter

from .views import EventTypeViewSet, InstructorViewSet

router = OptionalSlashRouter()
router.register("instructors", InstructorViewSet, basename="instructor")
router.register("event-types", EventTypeViewSet, basename="event-type")

urlpatterns = router.urls
