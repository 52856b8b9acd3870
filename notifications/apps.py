from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = "Notifications"

    def ready(self) -> None:
        # The booking signals' subscribers: the reminder schedule, then the messages (the order
        # in which their warnings reach a booking response).
        from . import receivers, reminder_receivers

        reminder_receivers.connect()
        receivers.connect()
