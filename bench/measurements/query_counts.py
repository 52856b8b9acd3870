"""Queries per request of every list endpoint, at 10 and at 1,000 rows: they must be equal.

The endpoints are the ``GET`` list operations of the OpenAPI schema, so a new
list endpoint is measured as soon as it exists. Each one is asked in-process
(Django's test client and ``CaptureQueriesContext``, on the bench's
PostgreSQL database) with ``?limit=1000``, so the whole list is rendered in
one page: once as a brand with 10 rows of everything, once as a brand with
1,000. A list endpoint that ``ROW_LOADERS`` does not know yet gets a row
saying so (``met`` unknown) instead of a number measured on no data.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from bench import dataset
from bench.results import Goal, Measurement

SIZES = (10, 1_000)


def instructors(brand, count: int) -> None:
    from scheduling.models import Instructor, InstructorBrand

    made = Instructor.objects.bulk_create(
        Instructor(name=f"Coach {index}", email=f"{brand.slug}-{index}@example.com", slug=f"{brand.slug}-{index}")
        for index in range(count)
    )
    InstructorBrand.objects.bulk_create(InstructorBrand(instructor=coach, brand=brand) for coach in made)


def event_types(brand, count: int) -> None:
    from scheduling.models import EventType

    EventType.objects.bulk_create(
        EventType(brand=brand, name=f"Type {index}", slug=f"type-{index}", duration_minutes=60)
        for index in range(count)
    )


def bookings_and_events(brand, count: int) -> None:
    """``count`` bookings of one instructor, an hour apart, each with its ``booking.created`` event."""
    from bookings.models import Event

    assignment, event_type = dataset.instructor_with_hours(
        brand=brand, slug=f"{brand.slug}-bookings", opens=dt.time(0), closes=dt.time(23)
    )
    first = dt.datetime.combine(dt.date.today() + dt.timedelta(days=1), dt.time(0), tzinfo=dt.UTC)
    made = dataset.bookings_rows(
        brand=brand,
        assignment=assignment,
        event_type=event_type,
        starts=[first + dt.timedelta(hours=index) for index in range(count)],
        minutes=30,
        email_prefix=brand.slug,
    )
    Event.objects.bulk_create(
        Event(type="booking.created", brand=brand, booking=booking, payload={"booking_id": booking.pk})
        for booking in made
    )


BENCH_DELIVERIES = "bench deliveries"


def webhook_subscriptions(brand, count: int) -> None:
    from webhooks.models import WebhookSubscription
    from webhooks.signing import generate_secret

    WebhookSubscription.objects.bulk_create(
        WebhookSubscription(
            brand=brand,
            url=f"https://hooks.example.com/{index}",
            event_types=["booking.created"],
            secret=generate_secret(),
        )
        for index in range(count)
    )


def webhook_deliveries(brand, count: int) -> None:
    """One subscription with ``count`` delivered deliveries, each with one attempt."""
    from webhooks.models import WebhookAttempt, WebhookDelivery, WebhookSubscription
    from webhooks.signing import generate_secret

    subscription = WebhookSubscription.objects.create(
        brand=brand, url="https://hooks.example.com/log", description=BENCH_DELIVERIES, secret=generate_secret()
    )
    deliveries = WebhookDelivery.objects.bulk_create(
        WebhookDelivery(
            subscription=subscription,
            event_type="booking.created",
            message_id=f"msg_{brand.slug}_{index}",
            body="{}",
            status=WebhookDelivery.Status.DELIVERED,
            attempt_count=1,
        )
        for index in range(count)
    )
    WebhookAttempt.objects.bulk_create(
        WebhookAttempt(delivery=delivery, number=1, succeeded=True, response_status=200, duration_ms=50)
        for delivery in deliveries
    )


def deliveries_subscription(brand) -> int:
    from webhooks.models import WebhookSubscription

    return WebhookSubscription.objects.get(brand=brand, description=BENCH_DELIVERIES).pk


# Which rows make a list endpoint's list long: schema path -> loader(brand, count). A loader shared by
# several paths runs once per brand.
ROW_LOADERS: dict[str, Callable] = {
    "/api/instructors/": instructors,
    "/api/bookings/instructors/": instructors,
    "/api/event-types/": event_types,
    "/api/bookings/": bookings_and_events,
    "/api/events/": bookings_and_events,
    "/api/webhooks/": webhook_subscriptions,
    "/api/webhooks/{id}/deliveries/": webhook_deliveries,
}
# The object a nested list belongs to: schema path -> the id to put in its ``{id}``, for a brand.
PATH_IDS: dict[str, Callable] = {
    "/api/webhooks/{id}/deliveries/": deliveries_subscription,
}


def list_paths() -> list[str]:
    """Paths of the schema's GET operations that answer a paginated list."""
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    paths = []
    for path, operations in schema["paths"].items():
        operation = operations.get("get")
        if operation and operation.get("operationId", "").endswith("_list"):
            paths.append(path)
    return sorted(paths)


def concrete(path: str, brand) -> str:
    return path.replace("{id}", str(PATH_IDS[path](brand))) if path in PATH_IDS else path


def query_count(api_client, path: str) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        response = api_client.get(path, {"limit": 1000})
    if response.status_code != 200:
        raise RuntimeError(f"GET {path} answered {response.status_code}: {response.content[:300]!r}")
    return len(queries)


def measure(context=None) -> list[Measurement]:
    from rest_framework.test import APIClient

    clients, brands = {}, {}
    for size in SIZES:
        brand, secret, _ = dataset.bench_brand(slug=f"bench-lists-{size}")
        brands[size] = brand
        for loader in {loader for loader in ROW_LOADERS.values()}:
            loader(brand, size)
        api_client = APIClient()
        api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
        clients[size] = api_client

    few, many = SIZES
    rows = []
    for path in list_paths():
        name = f"queries, GET {path}: {many:,} rows (floor: {few} rows)"
        if path not in ROW_LOADERS:
            rows.append(
                Measurement(
                    name,
                    None,
                    "queries",
                    goals=(Goal("ratio", "==", 1.0),),
                    note=f"{path} has no row loader yet: add one to ROW_LOADERS in bench/measurements/query_counts.py.",
                )
            )
            continue
        counts = {size: query_count(clients[size], concrete(path, brands[size])) for size in SIZES}
        print(f"  GET {path}: {counts[few]} queries at {few} rows, {counts[many]} at {many:,}", flush=True)
        rows.append(Measurement(name, counts[many], "queries", floor=counts[few], goals=(Goal("ratio", "==", 1.0),)))
    return rows
