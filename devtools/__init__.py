"""Developer tools: local stand-ins for Resend, Twilio and webhook receivers.

See ``devtools/README.md`` and ``devtools.standins``.
"""

from devtools.standins import (
    Headers,
    ResendStandin,
    StandinClient,
    TwilioStandin,
    WebhookReceiver,
)

__all__ = ["Headers", "ResendStandin", "StandinClient", "TwilioStandin", "WebhookReceiver"]
