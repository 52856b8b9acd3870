"""Fixtures shared by the notification tests: the frozen clock and the provider stand-ins."""

import pytest
import time_machine

from notifications.tests.factories import NOW, provider_standins


@pytest.fixture
def clock():
    """The clock frozen at ``factories.NOW`` (a module with its own ``NOW`` defines its own ``clock``)."""
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def standins(settings, clock):
    """The Resend and Twilio stand-ins, with the app's provider settings pointed at them."""
    with provider_standins(settings) as servers:
        yield servers
