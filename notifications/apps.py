from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = "Notifications"

    def ready(self) -> None:
        # The booking signals' subscribers: messages (receivers) and the reminder schedule.
        from . import receivers, reminder_receivers  # noqa: F401

        receivers.connect()
