"""System checks of the delivery settings (``manage.py check`` and every process start)."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, register

from .services import RECORD_MARGIN_SECONDS


@register()
def lease_outlasts_a_lookup_and_a_send(app_configs=None, **kwargs) -> list[Error]:
    """A claim's lease must leave room for the longest attempt: a Twilio lookup and a send, then recording.

    Otherwise the send task would never start such a request (it starts none
    that could outlast the lease), and those messages would wait forever.
    """
    lease = float(settings.NOTIFICATIONS_LEASE_SECONDS)
    timeout = float(settings.NOTIFICATIONS_PROVIDER_TIMEOUT)
    needed = 2 * timeout + RECORD_MARGIN_SECONDS
    if lease <= needed:
        return [
            Error(
                f"NOTIFICATIONS_LEASE_SECONDS ({lease:g}) must exceed twice NOTIFICATIONS_PROVIDER_TIMEOUT "
                f"plus {RECORD_MARGIN_SECONDS:g} s ({needed:g}): an SMS retry makes two provider requests "
                "(Twilio's message list, then the send), and no request starts that could outlast the lease.",
                id="notifications.E001",
            )
        ]
    return []
