"""The notification log and reminder list in the admin: filters, search, inline attempts, resend, scoping."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from notifications import backends, services
from notifications.models import BookingReminder, Notification, NotificationAttempt
from notifications.tests.factories import NOW, book, bookable
from scheduling.services import staff_user_create
from scheduling.tests.factories import BrandFactory

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:notifications_notification_changelist"


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=True) as traveller:
        yield traveller


@pytest.fixture
def world():
    """Two brands, a booking each, their notifications sent (one failed) to the memory outbox."""
    acme, globex = BrandFactory(slug="acme", name="Acme"), BrandFactory(slug="globex", name="Globex")
    acme_booking = book(*bookable(acme), email="ada@acme.test").booking
    globex_booking = book(*bookable(globex), email="bob@globex.test").booking
    for row in Notification.objects.all():
        services.notification_send(notification_id=row.pk)
    failed = Notification.objects.get(recipient="ada@acme.test")
    failed.status, failed.last_error = "failed", "Resend 422 validation_error: bad address"
    failed.save()
    return {"acme": acme, "globex": globex, "acme_booking": acme_booking, "globex_booking": globex_booking}


@pytest.fixture
def superuser_client(django_user_model) -> Client:
    client = Client()
    client.force_login(django_user_model.objects.create_superuser("root", "root@example.com", "pw"))
    return client


@pytest.fixture
def staff_client(world) -> Client:
    client = Client()
    client.force_login(staff_user_create(username="alice", password="pw", brands=[world["acme"]]))
    return client


def listed(response) -> list[Notification]:
    return list(response.context["cl"].result_list)


def test_the_log_lists_every_notification_with_its_status(superuser_client, world):
    response = superuser_client.get(reverse(CHANGELIST))

    assert response.status_code == 200
    assert len(listed(response)) == Notification.objects.count() == 4
    assert b"bad address" in response.content


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"status__exact": "failed"}, {"ada@acme.test"}),
        ({"kind__exact": "confirmation"}, {"ada@acme.test", "bob@globex.test"}),
        ({"channel__exact": "sms"}, set()),
        ({"audience__exact": "attendee", "status__exact": "sent"}, {"bob@globex.test"}),
        ({"q": "globex.test"}, {"bob@globex.test"}),
    ],
)
def test_filters_and_search(superuser_client, world, query, expected):
    response = superuser_client.get(reverse(CHANGELIST), query)
    assert {row.recipient for row in listed(response) if row.audience == "attendee"} == expected


def test_filter_by_brand_and_search_by_booking_uid(superuser_client, world):
    by_brand = superuser_client.get(reverse(CHANGELIST), {"brand": world["globex"].pk})
    by_uid = superuser_client.get(reverse(CHANGELIST), {"q": str(world["acme_booking"].uid)})

    assert {row.booking_id for row in listed(by_brand)} == {world["globex_booking"].pk}
    assert {row.booking_id for row in listed(by_uid)} == {world["acme_booking"].pk}


def test_filter_by_created_date(superuser_client, world):
    # The parameters of the "created at" filter's "Today" choice.
    today = {"created_at__gte": "2026-12-01 00:00:00+00:00", "created_at__lt": "2026-12-02 00:00:00+00:00"}
    later = {"created_at__gte": "2026-12-02 00:00:00+00:00"}
    today = superuser_client.get(reverse(CHANGELIST), today)
    later = superuser_client.get(reverse(CHANGELIST), later)
    assert len(listed(today)) == 4 and listed(later) == []


def test_the_detail_page_shows_the_attempts_read_only(superuser_client, world):
    row = Notification.objects.get(recipient="bob@globex.test")
    response = superuser_client.get(reverse("admin:notifications_notification_change", args=[row.pk]))

    assert response.status_code == 200
    assert b"memory-" in response.content  # the attempt's provider message id
    assert b'name="_save"' not in response.content
    (attempts,) = response.context["inline_admin_formsets"]
    assert not attempts.has_add_permission and not attempts.has_change_permission


def test_the_detail_page_shows_a_lost_attempt_the_claims_lease_and_the_batch(superuser_client, world):
    row = Notification.objects.get(recipient="bob@globex.test")
    lease = timezone.now()
    Notification.objects.filter(pk=row.pk).update(lease_expires_at=lease, batch_key="notifications-batch-7-abc")
    NotificationAttempt.objects.create(
        notification=row, number=9, succeeded=False, error="Lost: no outcome was recorded before the claim lapsed"
    )

    response = superuser_client.get(reverse("admin:notifications_notification_change", args=[row.pk]))

    page = response.content.decode()
    assert "Lease expires at" in page and "notifications-batch-7-abc" in page
    assert "Lost: no outcome was recorded before the claim lapsed" in page


def test_resend_queues_a_new_notification_and_sends_it(superuser_client, world, django_capture_on_commit_callbacks):
    failed = Notification.objects.get(status="failed")
    backends.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        response = superuser_client.post(
            reverse(CHANGELIST), {"action": "resend", "_selected_action": [failed.pk]}, follow=True
        )

    assert response.status_code == 200
    assert "Queued 1 notification to send again." in [str(m) for m in response.context["messages"]]
    failed.refresh_from_db()
    assert failed.status == "failed"  # its history stays
    copy = Notification.objects.exclude(pk=failed.pk).get(recipient="ada@acme.test", kind="confirmation")
    assert copy.status == "sent"
    assert [message.to for message in backends.outbox] == ["ada@acme.test"]
    backends.outbox.clear()


def test_staff_see_and_resend_only_their_brands_notifications(staff_client, world):
    response = staff_client.get(reverse(CHANGELIST))
    assert {row.booking.brand_id for row in listed(response)} == {world["acme"].pk}
    globex_row = Notification.objects.filter(booking=world["globex_booking"]).first()

    detail = staff_client.get(reverse("admin:notifications_notification_change", args=[globex_row.pk]))
    staff_client.post(reverse(CHANGELIST), {"action": "resend", "_selected_action": [globex_row.pk]})

    assert detail.status_code == 302  # "does not exist" redirect to the admin index
    assert Notification.objects.filter(booking=world["globex_booking"]).count() == 2
    assert b"Globex" not in staff_client.get(reverse(CHANGELIST)).content


def test_nobody_adds_or_deletes_notifications_in_the_admin(superuser_client, world):
    row = Notification.objects.first()
    assert superuser_client.get(reverse("admin:notifications_notification_add")).status_code == 403
    assert superuser_client.get(reverse("admin:notifications_notification_delete", args=[row.pk])).status_code == 403


def test_the_reminder_list_filters_by_status_and_channel_and_is_read_only(superuser_client, world):
    url = reverse("admin:notifications_bookingreminder_changelist")
    reminders = BookingReminder.objects.all()
    assert reminders.count() == 2  # the default [1440] x email of each booking

    response = superuser_client.get(url, {"status__exact": "scheduled", "channel__exact": "email"})
    empty = superuser_client.get(url, {"channel__exact": "sms"})
    detail = superuser_client.get(reverse("admin:notifications_bookingreminder_change", args=[reminders[0].pk]))

    assert len(response.context["cl"].result_list) == 2
    assert len(empty.context["cl"].result_list) == 0
    assert detail.status_code == 200 and b'name="_save"' not in detail.content
    assert superuser_client.get(reverse("admin:notifications_bookingreminder_add")).status_code == 403


def test_staff_see_only_their_brands_reminders(staff_client, world):
    response = staff_client.get(reverse("admin:notifications_bookingreminder_changelist"))
    assert {reminder.booking.brand_id for reminder in response.context["cl"].result_list} == {world["acme"].pk}


# --- the booking's page shows its reminders and notifications (as inlines) ------------

BOOKING_CHANGE = "admin:bookings_booking_change"


def inlines_by_model(response) -> dict:
    return {formset.opts.model: formset for formset in response.context["inline_admin_formsets"]}


def test_the_booking_page_shows_its_reminders_and_notifications_read_only(superuser_client, world):
    booking = world["acme_booking"]

    response = superuser_client.get(reverse(BOOKING_CHANGE, args=[booking.pk]))

    assert response.status_code == 200
    inlines = inlines_by_model(response)
    reminders, notifications = inlines[BookingReminder], inlines[Notification]
    assert [form.original for form in reminders] == list(booking.reminders.all())
    assert {form.original.pk for form in notifications} == set(booking.notifications.values_list("pk", flat=True))
    for inline in (reminders, notifications):
        assert not inline.has_add_permission and not inline.has_change_permission
        assert not inline.has_delete_permission
    content = response.content.decode()
    assert "bad address" in content  # the failed notification's error
    failed = Notification.objects.get(recipient="ada@acme.test")
    assert reverse("admin:notifications_notification_change", args=[failed.pk]) in content  # to its attempts
    assert "bob@globex.test" not in content


def test_the_booking_page_makes_as_many_queries_for_many_rows_as_for_few(superuser_client, world):
    booking = world["acme_booking"]
    url = reverse(BOOKING_CHANGE, args=[booking.pk])

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            response = superuser_client.get(url)
        assert response.status_code == 200
        inlines = inlines_by_model(response)
        assert len(list(inlines[Notification])) == booking.notifications.count()
        assert len(list(inlines[BookingReminder])) == booking.reminders.count()
        return len(captured)

    few = queries()
    for row in list(booking.notifications.all()):
        for _ in range(5):
            services.notification_resend(notification=row)
    for minutes in (60, 120, 180):
        BookingReminder.objects.create(
            booking=booking,
            channel="email",
            minutes_before=minutes,
            remind_at=booking.start_at - dt.timedelta(minutes=minutes),
        )

    assert booking.notifications.count() == 12 and booking.reminders.count() == 4
    assert queries() == few


def test_brand_staff_see_the_reminders_and_notifications_of_their_bookings(staff_client, world):
    booking = world["acme_booking"]

    response = staff_client.get(reverse(BOOKING_CHANGE, args=[booking.pk]))

    assert response.status_code == 200
    inlines = inlines_by_model(response)
    assert len(list(inlines[BookingReminder])) == booking.reminders.count() == 1
    assert len(list(inlines[Notification])) == booking.notifications.count() == 2


def test_a_booking_without_reminders_or_notifications_still_opens(superuser_client, world):
    booking = world["globex_booking"]
    booking.reminders.all().delete()
    booking.notifications.all().delete()

    response = superuser_client.get(reverse(BOOKING_CHANGE, args=[booking.pk]))

    assert response.status_code == 200
    inlines = inlines_by_model(response)
    assert len(list(inlines[BookingReminder])) == 0
    assert len(list(inlines[Notification])) == 0


# --- what the log and the reminder queue show: attendee, session in local time, subject, status -----------

REMINDERS = "admin:notifications_bookingreminder_changelist"


def test_the_log_shows_attendee_local_session_time_and_subject(superuser_client, world):
    response = superuser_client.get(reverse(CHANGELIST), {"q": "ada@acme.test"})

    content = response.content.decode()
    assert "Ada Student" in content
    assert "Wed 2 Dec, 11:00" in content  # the session, 10:00 UTC, in Berlin
    assert "Europe/Berlin" in content and "2026-12-02 10:00 UTC" in content  # zone named, UTC on hover
    assert "Booking request received:" in content  # the confirmation email's subject


def test_the_notification_page_shows_its_subject_and_local_times(superuser_client, world):
    row = Notification.objects.get(recipient="bob@globex.test")

    content = superuser_client.get(reverse("admin:notifications_notification_change", args=[row.pk])).content.decode()

    assert "Booking request received:" in content
    assert "Tue 1 Dec 2026, 09:00" in content  # created at NOW, 08:00 UTC, in Berlin


def test_the_reminder_queue_shows_attendee_time_and_what_it_will_say(superuser_client, world):
    response = superuser_client.get(reverse(REMINDERS), {"q": "ada@acme.test"})

    content = response.content.decode()
    assert "Ada Student" in content
    assert "Tue 1 Dec, 11:00" in content  # due 24 hours before, Berlin time
    assert "Reminder: " in content and "in 24 hours" in content


def test_the_log_lists_many_rows_with_as_many_queries_as_few(superuser_client, world):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            response = superuser_client.get(reverse(CHANGELIST))
        assert response.status_code == 200
        return len(captured)

    superuser_client.get(reverse(CHANGELIST))
    few = queries()
    for row in list(Notification.objects.all()):
        for _ in range(4):
            services.notification_resend(notification=row)
    assert Notification.objects.count() == 20
    assert queries() == few


def test_the_reminder_queue_lists_many_rows_with_as_many_queries_as_few(superuser_client, world):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            response = superuser_client.get(reverse(REMINDERS))
        assert response.status_code == 200
        return len(captured)

    superuser_client.get(reverse(REMINDERS))
    few = queries()
    booking = world["acme_booking"]
    for minutes in (60, 120, 180, 240):
        BookingReminder.objects.create(
            booking=booking, channel="email", minutes_before=minutes, remind_at=booking.start_at
        )
    assert queries() == few


def test_send_a_scheduled_reminder_again_now(superuser_client, world, django_capture_on_commit_callbacks):
    reminder = BookingReminder.objects.get(booking=world["globex_booking"])
    backends.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        response = superuser_client.post(
            reverse(REMINDERS), {"action": "send_again", "_selected_action": [reminder.pk]}, follow=True
        )

    assert "Queued 1 reminder to send now." in [str(m) for m in response.context["messages"]]
    (sent,) = Notification.objects.filter(booking=world["globex_booking"], kind="reminder")
    assert (sent.minutes_before, sent.reminder_id) == (1440, None)
    reminder.refresh_from_db()
    assert reminder.status == "scheduled"  # still goes out at its own time
    backends.outbox.clear()


def test_send_again_a_reminder_already_handed_over_resends_its_message(superuser_client, world):
    reminder = BookingReminder.objects.get(booking=world["acme_booking"])
    first = services.notification_queue(
        booking=reminder.booking,
        kind="reminder",
        channel="email",
        recipient="ada@acme.test",
        reminder=reminder,
    )

    superuser_client.post(reverse(REMINDERS), {"action": "send_again", "_selected_action": [reminder.pk]})

    copies = Notification.objects.filter(kind="reminder", booking=reminder.booking).exclude(pk=first.pk)
    assert [(copy.minutes_before, copy.reminder_id) for copy in copies] == [(1440, None)]


def test_a_phone_reminder_without_a_phone_is_refused_and_queues_nothing(superuser_client, world):
    booking = world["acme_booking"]
    booking.attendee_phone = ""
    booking.save()
    reminder = BookingReminder.objects.create(
        booking=booking, channel="sms", minutes_before=60, remind_at=booking.start_at, status="skipped"
    )

    response = superuser_client.post(
        reverse(REMINDERS), {"action": "send_again", "_selected_action": [reminder.pk]}, follow=True
    )

    assert any("no attendee phone number" in str(m) for m in response.context["messages"])
    assert not Notification.objects.filter(kind="reminder").exists()


def test_staff_send_again_reaches_only_their_brands_reminders(staff_client, world):
    theirs = BookingReminder.objects.get(booking=world["globex_booking"])

    staff_client.post(reverse(REMINDERS), {"action": "send_again", "_selected_action": [theirs.pk]})

    assert not Notification.objects.filter(kind="reminder").exists()
    detail = staff_client.get(reverse("admin:notifications_bookingreminder_change", args=[theirs.pk]))
    assert detail.status_code == 302


# --- the dashboard -------------------------------------------------------------------------------------


def test_the_dashboard_counts_failed_messages_of_the_users_brands(staff_client, superuser_client, world):
    globex_row = Notification.objects.filter(booking=world["globex_booking"]).first()
    globex_row.status, globex_row.last_error = "failed", "Twilio 21211: invalid number"
    globex_row.save()

    def panel(client):
        panels = client.get(reverse("admin:index")).context["dashboard_panels"]
        (failed,) = [p for p in panels if p.title == "Failed messages"]
        return failed

    staff_panel, all_panel = panel(staff_client), panel(superuser_client)
    assert staff_panel.count == 1 and all_panel.count == 2
    assert ["bad address" in row.note for row in staff_panel.rows] == [True]
    assert "invalid number" not in staff_client.get(reverse("admin:index")).content.decode()
