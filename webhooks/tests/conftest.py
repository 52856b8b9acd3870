"""Fixtures for the webhook tests: a real receiver on 127.0.0.1 and a fixed clock."""

import pytest
import time_machine

from devtools import WebhookReceiver

from .factories import NOW, bookable


@pytest.fixture
def receiver():
    with WebhookReceiver() as server:
        yield server


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def coach(brand):
    """(instructor, event type) of ``brand``: no price, bookings start pending."""
    return bookable(brand, requires_confirmation=True)
