from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = "Notifications"

    def ready(self) -> None:
        from . import checks, receivers  # noqa: F401 - importing checks registers them

        receivers.connect()
