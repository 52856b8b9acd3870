"""What every measurement gets: where the stack answers, the keys, the stand-ins and the stack itself."""

from __future__ import annotations

import dataclasses
from typing import Any

from bench.stack import Stack


@dataclasses.dataclass
class Context:
    host: str
    port: int
    brand: Any  # scheduling.models.Brand (Django is set up only once the stack runs)
    secret_key: str
    public_key: str
    resend: Any  # devtools.standins.ResendStandin
    twilio: Any  # devtools.standins.TwilioStandin
    webhook: Any  # devtools.standins.WebhookReceiver
    stack: Stack
