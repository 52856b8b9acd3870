"""Webhooks in the admin: health columns, delivery log with attempts and filters, actions, brand scoping.

Staff write through the services (URL guard, event types) and see only
their brands' subscriptions and deliveries.
"""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from scheduling.services import staff_user_create
from webhooks.models import WebhookDelivery, WebhookSubscription
from webhooks.services import subscription_ping, subscription_update

from .factories import subscribe

pytestmark = pytest.mark.django_db

SUBSCRIPTIONS = "admin:webhooks_webhooksubscription_changelist"
DELIVERIES = "admin:webhooks_webhookdelivery_changelist"


@pytest.fixture
def world(brand, other_brand, receiver, frozen, django_capture_on_commit_callbacks):
    """A subscription per brand, each with a delivered test event; ours also a failing one."""
    ours = subscribe(brand, receiver, description="CRM")
    theirs = subscribe(other_brand, receiver, path="/theirs", description="Globex CRM")
    with django_capture_on_commit_callbacks(execute=True):
        delivered = subscription_ping(subscription=ours)
        subscription_ping(subscription=theirs)
    receiver.respond_with(503)
    with django_capture_on_commit_callbacks(execute=True):
        failing = subscription_ping(subscription=ours)
    receiver.respond_with(200)
    return {"ours": ours, "theirs": theirs, "delivered": delivered, "failing": failing}


@pytest.fixture
def staff_client(brand) -> Client:
    client = Client()
    client.force_login(staff_user_create(username="alice", password="pw", brands=[brand]))
    return client


def listed(response) -> list:
    return list(response.context["cl"].result_list)


def test_subscriptions_show_their_health(admin_client, world):
    subscription_update(subscription=world["theirs"], is_active=False, reason="Disabled by hand.")

    response = admin_client.get(reverse(SUBSCRIPTIONS))

    assert response.status_code == 200
    page = response.content.decode()
    for column in ("Last success at", "Consecutive failures", "Disabled because"):
        assert column.lower() in page.lower()
    assert "Disabled by hand." in page
    assert len(listed(response)) == 2


def test_the_subscription_page_shows_its_latest_deliveries_and_secret(admin_client, world):
    response = admin_client.get(reverse("admin:webhooks_webhooksubscription_change", args=[world["ours"].pk]))

    assert response.status_code == 200
    page = response.content.decode()
    assert world["ours"].secret in page
    assert "latest 20 deliveries" in page.lower()
    assert page.count("webhook.test") >= 2
    assert reverse("admin:webhooks_webhookdelivery_change", args=[world["failing"].pk]) in page


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"status__exact": "pending"}, {"failing"}),
        ({"status__exact": "delivered"}, {"delivered"}),
        ({"event_type": "webhook.test"}, {"failing", "delivered"}),
        ({"event_type": "booking.created"}, set()),
        ({"created_at__gte": "2026-12-01 00:00:00+00:00"}, {"failing", "delivered"}),
        ({"created_at__gte": "2026-12-02 00:00:00+00:00"}, set()),
    ],
)
def test_the_delivery_log_filters_by_status_event_and_time(staff_client, world, query, expected):
    response = staff_client.get(reverse(DELIVERIES), query)

    assert response.status_code == 200
    names = {name for name in ("failing", "delivered") if world[name] in listed(response)}
    assert names == expected


def test_a_delivery_page_shows_its_attempts(admin_client, world):
    response = admin_client.get(reverse("admin:webhooks_webhookdelivery_change", args=[world["failing"].pk]))

    assert response.status_code == 200
    page = response.content.decode()
    assert "HTTP 503" in page and "configured status 503" in page


def test_staff_see_only_their_brands_subscriptions_and_deliveries(staff_client, world):
    subscriptions = staff_client.get(reverse(SUBSCRIPTIONS))
    deliveries = staff_client.get(reverse(DELIVERIES))

    assert listed(subscriptions) == [world["ours"]]
    assert set(listed(deliveries)) == {world["delivered"], world["failing"]}
    assert "Globex" not in subscriptions.content.decode()
    theirs = reverse("admin:webhooks_webhooksubscription_change", args=[world["theirs"].pk])
    assert staff_client.get(theirs).status_code in (302, 404)


def test_staff_add_a_subscription_through_the_services(staff_client, brand, receiver, world):
    response = staff_client.post(
        reverse("admin:webhooks_webhooksubscription_add"),
        {
            "brand": brand.pk,
            "url": receiver.url + "/from-admin",
            "event_types": ["booking.created", "payment.failed"],
            "description": "From the admin",
            "deliveries-TOTAL_FORMS": "0",
            "deliveries-INITIAL_FORMS": "0",
        },
    )

    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    added = WebhookSubscription.objects.get(description="From the admin")
    assert added.secret.startswith("whsec_") and added.event_types == ["booking.created", "payment.failed"]


def test_the_admin_form_refuses_a_private_url_with_the_guard_on(staff_client, brand, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False

    response = staff_client.post(
        reverse("admin:webhooks_webhooksubscription_add"),
        {"brand": brand.pk, "url": "http://169.254.169.254/", "event_types": ["booking.created"]},
    )

    assert response.status_code == 200
    assert "link-local address" in str(response.context["adminform"].form.errors["url"])
    assert not WebhookSubscription.objects.filter(url="http://169.254.169.254/").exists()


def test_staff_cannot_add_a_subscription_to_another_brand(staff_client, other_brand, receiver):
    response = staff_client.post(
        reverse("admin:webhooks_webhooksubscription_add"),
        {"brand": other_brand.pk, "url": receiver.url, "event_types": ["booking.created"]},
    )

    assert response.status_code == 200
    assert "brand" in response.context["adminform"].form.errors
    assert not WebhookSubscription.objects.filter(brand=other_brand).exists()


def test_re_enable_action_resets_the_failure_count(staff_client, world):
    subscription = world["ours"]
    WebhookSubscription.objects.filter(pk=subscription.pk).update(
        is_active=False, disabled_reason="5 deliveries in a row failed", consecutive_failures=5
    )

    response = staff_client.post(
        reverse(SUBSCRIPTIONS), {"action": "re_enable", "_selected_action": [subscription.pk]}, follow=True
    )

    assert "Re-enabled 1 subscription." in response.content.decode()
    subscription.refresh_from_db()
    assert subscription.is_active and subscription.disabled_reason == "" and subscription.consecutive_failures == 0


def test_redeliver_action_queues_the_same_message_again(
    staff_client, world, receiver, django_capture_on_commit_callbacks
):
    delivered = world["delivered"]
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(
            reverse(DELIVERIES),
            {"action": "redeliver", "_selected_action": [delivered.pk, world["failing"].pk]},
            follow=True,
        )

    page = response.content.decode()
    assert "Queued 1 delivery to send again." in page
    assert f"Webhook delivery {world['failing'].pk}: This delivery is still pending" in page
    copy = WebhookDelivery.objects.get(redelivery_of=delivered)
    assert copy.message_id == delivered.message_id and copy.status == "delivered"


def test_staff_cannot_redeliver_another_brands_delivery(staff_client, world):
    theirs = WebhookDelivery.objects.get(subscription=world["theirs"])

    staff_client.post(reverse(DELIVERIES), {"action": "redeliver", "_selected_action": [theirs.pk]})

    assert not WebhookDelivery.objects.filter(redelivery_of=theirs).exists()


def test_deliveries_cannot_be_added_or_changed(admin_client, world):
    assert admin_client.get(reverse("admin:webhooks_webhookdelivery_add")).status_code == 403
    url = reverse("admin:webhooks_webhookdelivery_change", args=[world["delivered"].pk])
    admin_client.post(url, {"status": "failed"})
    world["delivered"].refresh_from_db()
    assert world["delivered"].status == "delivered"


@pytest.mark.parametrize("name", [SUBSCRIPTIONS, DELIVERIES])
def test_changelist_queries_do_not_grow_with_rows(
    admin_client, staff_client, brand, receiver, world, name, django_assert_max_num_queries
):
    for index in range(30):
        subscription_ping(subscription=subscribe(brand, receiver, path=f"/{index}"))
    for client in (admin_client, staff_client):
        client.get(reverse(name))  # the first request of a client also loads caches
        with django_assert_max_num_queries(12):
            response = client.get(reverse(name))
        assert len(listed(response)) >= 30


def test_the_dashboard_lists_failing_subscriptions_of_the_users_brands(staff_client, admin_client, world):
    subscription_update(subscription=world["theirs"], is_active=False, reason="Disabled by hand.")

    def panel(client):
        (failing,) = [
            p for p in client.get(reverse("admin:index")).context["dashboard_panels"] if "webhook" in p.title.lower()
        ]
        return failing

    staff_panel, all_panel = panel(staff_client), panel(admin_client)

    assert staff_panel.count == 1  # ours: its latest attempt failed (503); theirs is another brand's
    assert [row.note for row in staff_panel.rows] == ["the latest attempt failed; retrying"]
    assert all_panel.count == 2
    assert "Disabled by hand." not in staff_client.get(reverse("admin:index")).content.decode()


def test_a_healthy_subscription_is_not_on_the_dashboard(
    staff_client, world, frozen, django_capture_on_commit_callbacks
):
    frozen.shift(60)
    with django_capture_on_commit_callbacks(execute=True):
        subscription_ping(subscription=world["ours"])  # a minute later, a success after the failure

    (failing,) = [
        p for p in staff_client.get(reverse("admin:index")).context["dashboard_panels"] if "webhook" in p.title.lower()
    ]

    assert failing.count == 0
