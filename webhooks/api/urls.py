"""``/api/webhooks`` (and ``/{id}``, ``/{id}/deliveries``, ``/{id}/deliveries/{delivery_id}/redeliver``,
``/{id}/test``, ``/{id}/rotate-secret``)."""

from booking_project.api.routers import OptionalSlashRouter

from .views import WebhookViewSet

router = OptionalSlashRouter()
router.register("webhooks", WebhookViewSet, basename="webhook")

urlpatterns = router.urls
