"""Webhook API: /api/webhooks (CRUD), deliveries, redeliver, test ping, rotate-secret.

Every bad input answers 400 naming the field and writes nothing; another
brand's subscription or delivery is a 404; a public key gets 403 everywhere.
"""

from __future__ import annotations

import datetime as dt

import pytest

from booking_project.api.authentication import KEY_USE_QUERIES
from bookings.signals import EVENT_NAMES
from webhooks import ssrf
from webhooks.models import WebhookDelivery, WebhookSubscription
from webhooks.services import subscription_ping, subscription_update

from .factories import NOW, subscribe, verified

pytestmark = pytest.mark.django_db

PUBLIC_URL = "https://hooks.example.com/bookings"


@pytest.fixture
def dns(monkeypatch):
    """Name resolution the test controls: ``hooks.example.com`` is public, ``inside.example.com`` loopback."""
    answers = {"hooks.example.com": ["93.184.216.34"], "inside.example.com": ["127.0.0.1"]}

    def resolve(host: str, port: int) -> list[str]:
        if host not in answers:
            raise OSError("Name or service not known")
        return answers[host]

    monkeypatch.setattr(ssrf, "resolve_host", resolve)
    return answers


@pytest.fixture
def guarded(settings, dns):
    """The SSRF guard on, as in production."""
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False


@pytest.fixture
def subscription(brand, receiver):
    return subscribe(brand, receiver, description="CRM")


@pytest.fixture
def foreign_subscription(other_brand, receiver):
    return subscribe(other_brand, receiver, path="/theirs")


def create(api, **overrides):
    body = {"url": PUBLIC_URL, "event_types": ["booking.created", "booking.cancelled"], **overrides}
    return api.post("/api/webhooks", {k: v for k, v in body.items() if v is not None}, format="json")


# --- create -----------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/webhooks", "/api/webhooks/"])
def test_create_answers_201_with_a_generated_secret(path, api, brand, guarded):
    response = api.post(path, {"url": PUBLIC_URL, "event_types": ["booking.created"]}, format="json")

    assert response.status_code == 201, response.content
    body = response.json()
    assert {"id", "url", "event_types", "description", "is_active", "secret", "created_at"} <= set(body)
    assert body["url"] == PUBLIC_URL and body["event_types"] == ["booking.created"] and body["is_active"] is True
    assert body["secret"].startswith("whsec_") and len(body["secret"]) == len("whsec_") + 44
    assert body["created_at"].endswith("Z")
    stored = WebhookSubscription.objects.get(pk=body["id"])
    assert (stored.brand, stored.secret) == (brand, body["secret"])


def test_create_keeps_a_given_secret_and_accepts_the_string_forms_of_event_types(api, guarded):
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

    response = create(api, secret=secret, event_types="booking.created, payment.failed,booking.created")

    assert response.status_code == 201, response.content
    assert response.json()["secret"] == secret
    assert response.json()["event_types"] == ["booking.created", "payment.failed"]


def test_each_secret_is_new(api, guarded):
    first, second = create(api).json()["secret"], create(api).json()["secret"]
    assert first != second


BAD_CREATES = [
    ({"event_types": ["booking.exploded"]}, "event_types", "Unknown event type 'booking.exploded'"),
    ({"event_types": ["booking.created", "webhook.test"]}, "event_types", "Unknown event type 'webhook.test'"),
    ({"event_types": []}, "event_types", "Choose at least one"),
    ({"event_types": None}, "event_types", "required"),
    ({"event_types": 5}, "event_types", "Expected a list"),
    ({"url": "ftp://hooks.example.com/bookings"}, "url", "Only http and https"),
    ({"url": "hooks.example.com/bookings"}, "url", "Give a full URL with its scheme"),
    ({"url": "//hooks.example.com/bookings"}, "url", "Give a full URL with its scheme"),
    ({"url": "javascript:alert(1)"}, "url", "Give a full URL"),
    ({"url": "https://user:pass@hooks.example.com/"}, "url", "Credentials in the URL"),
    ({"url": "http://10.0.0.1/hook"}, "url", "10.0.0.1 is a private address"),
    ({"url": "http://169.254.169.254/latest/meta-data"}, "url", "169.254.169.254 is a link-local address"),
    ({"url": "http://[::1]:8000/hook"}, "url", "::1 is a loopback address"),
    ({"url": "http://[::ffff:127.0.0.1]/hook"}, "url", "::ffff:127.0.0.1 (127.0.0.1) is a loopback address"),
    ({"url": "http://2130706433/hook"}, "url", "2130706433 (127.0.0.1) is a loopback address"),
    ({"url": "http://100.64.1.1/hook"}, "url", "carrier-grade NAT"),
    ({"url": "http://inside.example.com/hook"}, "url", "inside.example.com (127.0.0.1) is a loopback address"),
    ({"url": "https://nowhere.example.com/hook"}, "url", "nowhere.example.com does not resolve"),
    ({"url": "https://hooks.example.com:99999/"}, "url", "Port out of range"),
    ({"url": ""}, "url", "may not be blank"),
    ({"url": None}, "url", "required"),
    ({"url": "https://hooks.example.com/" + "x" * 2000}, "url", "no more than 2000"),
    ({"secret": "not-a-secret"}, "secret", "starts with 'whsec_'"),
    ({"secret": "whsec_c2hvcnQ="}, "secret", "24 to 64 bytes"),
    ({"secret": "whsec_***"}, "secret", "must be base64"),
    ({"description": "x" * 501}, "description", "no more than 500"),
]


@pytest.mark.parametrize(("overrides", "field", "message"), BAD_CREATES)
def test_bad_input_is_a_400_naming_the_field_and_nothing_is_stored(api, guarded, overrides, field, message):
    response = create(api, **overrides)

    assert response.status_code == 400, response.content
    errors = response.json()
    assert list(errors) == [field]
    assert message in " ".join(errors[field])
    assert not WebhookSubscription.objects.exists()


def test_private_targets_are_accepted_when_the_setting_allows_them(api, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True

    response = create(api, url="http://127.0.0.1:8027/webhooks")

    assert response.status_code == 201, response.content


def test_several_bad_fields_are_reported_together(api, guarded):
    response = create(api, url="ftp://x.example.com", event_types=["nope"], secret="bad")

    assert response.status_code == 400
    assert set(response.json()) == {"url", "event_types", "secret"}


# --- read -------------------------------------------------------------------------------


def test_list_shows_the_brands_subscriptions_without_secrets(api, subscription, foreign_subscription):
    response = api.get("/api/webhooks")

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 1
    (row,) = body["results"]
    assert row["id"] == subscription.id and row["description"] == "CRM"
    assert "secret" not in row
    assert row["event_types"] == list(EVENT_NAMES)


def test_list_filters_by_is_active(api, brand, receiver, subscription):
    other = subscribe(brand, receiver, path="/other")
    subscription_update(subscription=other, is_active=False)

    assert [row["id"] for row in api.get("/api/webhooks?is_active=false").json()["results"]] == [other.id]


def test_list_query_count_is_flat(api, brand, receiver, django_assert_max_num_queries):
    for index in range(2):
        subscribe(brand, receiver, path=f"/{index}")
    with django_assert_max_num_queries(3 + KEY_USE_QUERIES):  # the key's first request stamps its last use
        assert api.get("/api/webhooks").json()["count"] == 2
    for index in range(2, 20):
        subscribe(brand, receiver, path=f"/{index}")
    with django_assert_max_num_queries(3):
        assert len(api.get("/api/webhooks").json()["results"]) == 20


@pytest.mark.parametrize("path", ["/api/webhooks/{id}", "/api/webhooks/{id}/"])
def test_retrieve_includes_the_secret(path, api, subscription):
    response = api.get(path.format(id=subscription.id))

    assert response.status_code == 200
    assert response.json()["secret"] == subscription.secret


@pytest.mark.parametrize(
    ("method", "suffix"),
    [
        ("get", ""),
        ("patch", ""),
        ("delete", ""),
        ("get", "/deliveries"),
        ("post", "/test"),
        ("post", "/rotate-secret"),
    ],
)
def test_another_brands_subscription_is_a_404_and_unchanged(api, foreign_subscription, method, suffix):
    before = WebhookSubscription.objects.values().get(pk=foreign_subscription.pk)

    response = getattr(api, method)(f"/api/webhooks/{foreign_subscription.id}{suffix}", {"description": "x"})

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert WebhookSubscription.objects.values().get(pk=foreign_subscription.pk) == before
    assert not WebhookDelivery.objects.exists()


@pytest.mark.parametrize("path", ["/api/webhooks/999999", "/api/webhooks/abc", "/api/webhooks/1.5"])
def test_unknown_subscriptions_are_404(api, path):
    assert api.get(path).status_code == 404


# --- scopes -----------------------------------------------------------------------------


ENDPOINTS = [
    ("get", "/api/webhooks"),
    ("post", "/api/webhooks"),
    ("get", "/api/webhooks/{id}"),
    ("patch", "/api/webhooks/{id}"),
    ("delete", "/api/webhooks/{id}"),
    ("get", "/api/webhooks/{id}/deliveries"),
    ("post", "/api/webhooks/{id}/deliveries/{delivery}/redeliver"),
    ("post", "/api/webhooks/{id}/test"),
    ("post", "/api/webhooks/{id}/rotate-secret"),
]


@pytest.fixture
def finished_delivery(subscription, frozen, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        delivery = subscription_ping(subscription=subscription)
    delivery.refresh_from_db()
    assert delivery.status == "delivered"
    return delivery


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_a_public_key_gets_403_and_no_key_401_and_nothing_changes(
    public_api, anonymous_api, subscription, finished_delivery, method, path
):
    before = list(WebhookSubscription.objects.values())
    url = path.format(id=subscription.id, delivery=finished_delivery.id)
    body = {"url": PUBLIC_URL, "event_types": ["booking.created"], "description": "changed"}

    public = getattr(public_api, method)(url, body, format="json")
    anonymous = getattr(anonymous_api, method)(url, body, format="json")

    assert (public.status_code, anonymous.status_code) == (403, 401)
    assert list(WebhookSubscription.objects.values()) == before
    assert WebhookDelivery.objects.count() == 1


def test_put_is_not_offered(api, subscription):
    assert api.put(f"/api/webhooks/{subscription.id}", {}, format="json").status_code == 405


# --- change and delete --------------------------------------------------------------------


def test_patch_changes_the_fields_and_answers_the_subscription(api, subscription, guarded):
    response = api.patch(
        f"/api/webhooks/{subscription.id}",
        {"url": PUBLIC_URL, "event_types": ["payment.failed"], "description": "Billing"},
        format="json",
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["url"], body["event_types"], body["description"]) == (PUBLIC_URL, ["payment.failed"], "Billing")
    assert body["secret"] == subscription.secret
    subscription.refresh_from_db()
    assert subscription.url == PUBLIC_URL and subscription.event_types == ["payment.failed"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "http://10.0.0.1/hook"}, "url"),
        ({"url": "ftp://hooks.example.com"}, "url"),
        ({"event_types": ["booking.exploded"]}, "event_types"),
        ({"event_types": []}, "event_types"),
        ({"is_active": "maybe"}, "is_active"),
        ({"description": "x" * 501}, "description"),
        ({"secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}, "secret"),
        ({}, "non_field_errors"),
    ],
)
def test_bad_patches_are_400_naming_the_field_and_change_nothing(api, subscription, guarded, body, field):
    before = WebhookSubscription.objects.values().get(pk=subscription.pk)

    response = api.patch(f"/api/webhooks/{subscription.id}", body, format="json")

    assert response.status_code == 400, response.content
    assert list(response.json()) == [field]
    assert WebhookSubscription.objects.values().get(pk=subscription.pk) == before


def test_patch_is_active_false_disables_by_hand_and_true_re_enables_with_the_count_reset(api, subscription, frozen):
    off = api.patch(f"/api/webhooks/{subscription.id}", {"is_active": False}, format="json").json()
    assert (off["is_active"], off["disabled_reason"], off["disabled_at"]) == (
        False,
        "Disabled by hand.",
        "2026-12-01T08:00:00Z",
    )

    WebhookSubscription.objects.filter(pk=subscription.pk).update(consecutive_failures=5)
    on = api.patch(f"/api/webhooks/{subscription.id}", {"is_active": True}, format="json").json()

    assert (on["is_active"], on["disabled_reason"], on["disabled_at"], on["consecutive_failures"]) == (
        True,
        "",
        None,
        0,
    )


def test_delete_answers_204_and_removes_the_subscription_and_its_log(api, subscription, finished_delivery):
    response = api.delete(f"/api/webhooks/{subscription.id}/")

    assert response.status_code == 204
    assert not WebhookSubscription.objects.exists() and not WebhookDelivery.objects.exists()


# --- deliveries -----------------------------------------------------------------------------


def test_deliveries_lists_the_log_with_attempts(api, subscription, receiver, finished_delivery):
    response = api.get(f"/api/webhooks/{subscription.id}/deliveries")

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 1
    (row,) = body["results"]
    assert row["id"] == finished_delivery.id and row["event_type"] == "webhook.test"
    assert row["webhook_id"] == receiver.requests[0]["headers"]["webhook-id"]
    assert (row["status"], row["attempt_count"], row["next_attempt_at"]) == ("delivered", 1, None)
    assert row["delivered_at"] == "2026-12-01T08:00:00Z"
    (attempt,) = row["attempts"]
    assert attempt["number"] == 1 and attempt["succeeded"] and attempt["response_status"] == 200
    assert '"received": true' in attempt["response_excerpt"]


def test_deliveries_filter_by_status_event_and_time(api, subscription, receiver, frozen, finished_delivery):
    receiver.respond_with(500)
    frozen.shift(dt.timedelta(hours=1))
    failing = subscription_ping(subscription=subscription)
    base = f"/api/webhooks/{subscription.id}/deliveries"

    def ids(query: str) -> list[int]:
        response = api.get(base + query)
        assert response.status_code == 200, response.content
        return [row["id"] for row in response.json()["results"]]

    assert ids("") == [failing.id, finished_delivery.id]
    assert ids("?status=pending") == [failing.id]
    assert ids("?status=pending&status=delivered") == [failing.id, finished_delivery.id]
    assert ids("?event_type=webhook.test") == [failing.id, finished_delivery.id]
    assert ids("?event_type=booking.created") == []
    assert ids("?from=2026-12-01T08:30:00Z") == [failing.id]
    assert ids("?to=2026-12-01T08:30:00%2B00:00") == [finished_delivery.id]


@pytest.mark.parametrize(
    ("query", "field"),
    [("status=lost", "status"), ("event_type=booking.exploded", "event_type"), ("from=2026-12-01T08:00", "from")],
)
def test_bad_delivery_filters_are_400_naming_the_parameter(api, subscription, query, field):
    response = api.get(f"/api/webhooks/{subscription.id}/deliveries?{query}")

    assert response.status_code == 400
    assert list(response.json()) == [field]


def test_deliveries_query_count_is_flat(api, subscription, frozen, django_assert_max_num_queries):
    for _ in range(2):
        subscription_ping(subscription=subscription)
    with django_assert_max_num_queries(5 + KEY_USE_QUERIES):  # the key's first request stamps its last use
        assert api.get(f"/api/webhooks/{subscription.id}/deliveries").json()["count"] == 2
    for _ in range(18):
        subscription_ping(subscription=subscription)
    with django_assert_max_num_queries(5):
        assert len(api.get(f"/api/webhooks/{subscription.id}/deliveries").json()["results"]) == 20


# --- redeliver, test, rotate --------------------------------------------------------------------


def test_redeliver_sends_the_same_message_again(
    api, subscription, receiver, finished_delivery, django_capture_on_commit_callbacks
):
    url = f"/api/webhooks/{subscription.id}/deliveries/{finished_delivery.id}/redeliver"
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(url)

    assert response.status_code == 202, response.content
    body = response.json()
    assert body["id"] != finished_delivery.id and body["redelivery_of"] == finished_delivery.id
    assert body["webhook_id"] == finished_delivery.message_id
    first, again = receiver.requests
    assert first["headers"]["webhook-id"] == again["headers"]["webhook-id"]
    assert verified(first, subscription.secret) == verified(again, subscription.secret)
    assert WebhookDelivery.objects.get(pk=body["id"]).status == "delivered"


def test_redeliver_refuses_a_delivery_still_in_progress(api, subscription, frozen):
    pending = subscription_ping(subscription=subscription)

    response = api.post(f"/api/webhooks/{subscription.id}/deliveries/{pending.id}/redeliver/")

    assert response.status_code == 409
    assert response.json()["code"] == "delivery_in_progress"
    assert WebhookDelivery.objects.count() == 1


def test_redeliver_and_test_refuse_a_disabled_subscription(api, subscription, finished_delivery):
    subscription_update(subscription=subscription, is_active=False)

    redeliver = api.post(f"/api/webhooks/{subscription.id}/deliveries/{finished_delivery.id}/redeliver")
    ping = api.post(f"/api/webhooks/{subscription.id}/test")

    assert (redeliver.status_code, ping.status_code) == (409, 409)
    assert redeliver.json()["code"] == ping.json()["code"] == "subscription_disabled"
    assert WebhookDelivery.objects.count() == 1


def test_redeliver_finds_only_this_subscriptions_deliveries(
    api, brand, receiver, subscription, foreign_subscription, frozen, django_capture_on_commit_callbacks
):
    sibling = subscribe(brand, receiver, path="/sibling")
    with django_capture_on_commit_callbacks(execute=True):
        siblings = subscription_ping(subscription=sibling)
        foreign = subscription_ping(subscription=foreign_subscription)

    for delivery in (siblings, foreign):
        response = api.post(f"/api/webhooks/{subscription.id}/deliveries/{delivery.id}/redeliver")
        assert response.status_code == 404
    assert WebhookDelivery.objects.count() == 2


def test_test_sends_a_signed_webhook_test_event(
    api, subscription, receiver, frozen, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(f"/api/webhooks/{subscription.id}/test/")

    assert response.status_code == 202, response.content
    assert response.json()["event_type"] == "webhook.test" and response.json()["status"] == "pending"
    (request,) = receiver.requests
    body = verified(request, subscription.secret)
    assert body["type"] == "webhook.test" and body["timestamp"] == "2026-12-01T08:00:00Z"
    assert body["data"]["subscription_id"] == subscription.id


def test_rotate_secret_answers_a_new_secret_and_the_old_one_signs_for_24_hours(api, subscription, frozen):
    old = subscription.secret

    response = api.post(f"/api/webhooks/{subscription.id}/rotate-secret")

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["secret"].startswith("whsec_") and body["secret"] != old
    assert body["previous_secret_expires_at"] == "2026-12-02T08:00:00Z"
    subscription.refresh_from_db()
    assert subscription.signing_secrets(NOW) == [body["secret"], old]
    assert subscription.signing_secrets(NOW + dt.timedelta(hours=24)) == [body["secret"]]


def test_rotate_secret_takes_a_given_secret_and_refuses_a_bad_one(api, subscription):
    given = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    bad = api.post(f"/api/webhooks/{subscription.id}/rotate-secret", {"secret": "whsec_"}, format="json")
    assert bad.status_code == 400 and list(bad.json()) == ["secret"]
    subscription.refresh_from_db()
    assert subscription.previous_secret == ""

    good = api.post(f"/api/webhooks/{subscription.id}/rotate-secret", {"secret": given}, format="json")
    assert good.status_code == 200 and good.json()["secret"] == given


def test_the_schema_documents_the_webhook_endpoints(api):
    paths = api.get("/api/schema/?format=json").json()["paths"]

    for path in (
        "/api/webhooks",
        "/api/webhooks/{id}",
        "/api/webhooks/{id}/deliveries",
        "/api/webhooks/{id}/deliveries/{delivery_id}/redeliver",
        "/api/webhooks/{id}/test",
        "/api/webhooks/{id}/rotate-secret",
    ):
        assert any(known.rstrip("/") == path for known in paths), path
