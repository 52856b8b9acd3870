"""The week calendar, the today page, the dashboard and the booking list's local times in the back office."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from bookings.models import Booking
from bookings.services import STAFF, booking_cancel, booking_confirm
from bookings.tests.conftest import BERLIN_SLOT, book_at
from scheduling.tests.factories import AssignmentFactory, EventTypeFactory, available_every_day

pytestmark = pytest.mark.django_db

WEEK = reverse("admin:bookings_booking_week")
TODAY = reverse("admin:bookings_booking_today")
CHANGELIST = reverse("admin:bookings_booking_changelist")


@pytest.fixture
def session_type(brand):
    return EventTypeFactory(brand=brand, name="Coaching", duration_minutes=60, requires_confirmation=True)


@pytest.fixture
def new_york_coach(brand):
    assignment = AssignmentFactory(
        brand=brand, timezone="America/New_York", buffer_minutes=0, instructor__name="Nora York"
    )
    available_every_day(assignment)
    return assignment


def day_of(response, date: dt.date, column: int = 0):
    (day,) = [day for day in response.context["week"].columns[column].days if day.date == date]
    return day


# --- the week of one instructor -----------------------------------------------------------------------------


def test_an_instructors_week_shows_bookings_by_status_and_free_time_in_local_time(
    staff_client, berlin_coach, session_type
):
    pending = book_at(berlin_coach, session_type, BERLIN_SLOT, name="Ada Pending")
    cancelled = book_at(berlin_coach, session_type, BERLIN_SLOT + dt.timedelta(hours=3), name="Carl Cancelled")
    booking_cancel(booking=cancelled, actor=STAFF, reason="ill")

    response = staff_client.get(WEEK, {"instructor": berlin_coach.instructor_id})

    assert response.status_code == 200
    week = response.context["week"]
    assert week.first_day == dt.date(2026, 11, 30)  # the Monday of this week, in Berlin
    wednesday = day_of(response, dt.date(2026, 12, 2))
    assert [(b.attendee_name, b.status) for b in wednesday.bookings] == [
        ("Ada Pending", "pending"),
        ("Carl Cancelled", "cancelled"),
    ]
    free = [(f"{f.start:%H:%M}", f"{f.end:%H:%M}") for f in wednesday.free]
    assert free == [("08:00", "10:00"), ("11:00", "16:00")]  # UTC: 09-11 and 12-17 in Berlin, around the 11:00
    content = response.content.decode()
    assert "Europe/Berlin" in content
    assert reverse("admin:bookings_booking_change", args=[pending.pk]) in content
    assert 'class="bo-entry bo-entry-pending"' in content and 'class="bo-entry bo-entry-cancelled"' in content
    assert "11:00–12:00" in content  # the session's local hours
    assert (
        reverse("admin:bookings_booking_add") + f"?assignment={berlin_coach.pk}&amp;event_type={session_type.pk}"
        in content
    )


def test_past_time_is_never_free(staff_client, berlin_coach, session_type):
    response = staff_client.get(WEEK, {"instructor": berlin_coach.instructor_id})

    assert day_of(response, dt.date(2026, 11, 30)).free == []  # Monday has passed
    today = day_of(response, dt.date(2026, 12, 1))
    assert today.is_today and today.free[0].start == dt.datetime(2026, 12, 1, 8, 0, tzinfo=dt.UTC)  # from now


def test_hiding_cancelled_sessions(staff_client, berlin_coach, session_type):
    booking_cancel(booking=book_at(berlin_coach, session_type, BERLIN_SLOT), actor=STAFF, reason="ill")

    response = staff_client.get(WEEK, {"instructor": berlin_coach.instructor_id, "cancelled": "0"})

    assert day_of(response, dt.date(2026, 12, 2)).bookings == []


def test_previous_and_next_week(staff_client, berlin_coach, session_type):
    response = staff_client.get(WEEK, {"instructor": berlin_coach.instructor_id, "start": "2026-12-09"})

    assert response.context["week"].first_day == dt.date(2026, 12, 7)
    assert "start=2026-11-30" in response.context["previous_url"]
    assert "start=2026-12-14" in response.context["next_url"]
    assert staff_client.get(response.context["next_url"]).context["week"].first_day == dt.date(2026, 12, 14)


def test_free_time_follows_the_chosen_session_type(staff_client, berlin_coach, brand):
    long = EventTypeFactory(brand=brand, name="Long", duration_minutes=240)
    book_at(berlin_coach, long, dt.datetime(2026, 12, 3, 12, 0, tzinfo=dt.UTC), name="Midday")  # 13:00-17:00

    response = staff_client.get(
        WEEK, {"instructor": berlin_coach.instructor_id, "event_type": long.pk, "start": "2026-12-03"}
    )

    thursday = day_of(response, dt.date(2026, 12, 3))
    assert [[f"{start:%H:%M}" for start in f.starts] for f in thursday.free] == [["08:00"]]  # 09:00-13:00 Berlin


# --- the week of a brand -----------------------------------------------------------------------------------


def test_a_brands_week_has_a_column_per_instructor_each_in_its_own_timezone(
    staff_client, brand, berlin_coach, new_york_coach, session_type
):
    book_at(new_york_coach, session_type, dt.datetime(2026, 12, 2, 15, 0, tzinfo=dt.UTC), name="Yan York")

    response = staff_client.get(WEEK, {"brand": brand.pk})

    week = response.context["week"]
    assert [(c.assignment.instructor.name, c.timezone) for c in week.columns] == [
        ("Clara Berg", "Europe/Berlin"),
        ("Nora York", "America/New_York"),
    ]
    (_, cells) = [row for row in week.rows() if row[0] == dt.date(2026, 12, 2)][0]
    assert [[b.attendee_name for b in day.bookings] for _, day in cells] == [[], ["Yan York"]]
    assert "10:00–11:00" in response.content.decode()  # 15:00 UTC in New York


def test_the_week_defaults_to_the_users_brand(staff_client, brand, berlin_coach):
    response = staff_client.get(WEEK)

    assert response.status_code == 200
    assert response.context["brand"] == brand
    assert [c.assignment for c in response.context["week"].columns] == [berlin_coach]


def test_the_week_reads_as_many_queries_for_many_bookings_as_for_few(staff_client, brand, berlin_coach, session_type):
    def queries(params) -> int:
        with CaptureQueriesContext(connection) as captured:
            assert staff_client.get(WEEK, params).status_code == 200
        return len(captured)

    book_at(berlin_coach, session_type, BERLIN_SLOT)
    staff_client.get(WEEK, {"brand": brand.pk})
    few = (queries({"brand": brand.pk}), queries({"instructor": berlin_coach.instructor_id}))
    for day in range(1, 5):
        for hour in (8, 9, 13, 14, 15):
            book_at(
                berlin_coach, session_type, dt.datetime(2026, 12, 2 + day, hour, tzinfo=dt.UTC), name=f"S {day} {hour}"
            )
    assert Booking.objects.count() == 22  # 21 here + the other brand's one
    assert (queries({"brand": brand.pk}), queries({"instructor": berlin_coach.instructor_id})) == few


# --- strangers in the week ---------------------------------------------------------------------------------


def test_another_brands_instructor_or_brand_is_a_404(staff_client, other_brand, other_world):
    assert staff_client.get(WEEK, {"instructor": other_world["assignment"].instructor_id}).status_code == 404
    assert staff_client.get(WEEK, {"brand": other_brand.pk}).status_code == 404
    assert staff_client.get(WEEK, {"instructor": "abc"}).status_code == 404


def test_a_shared_instructors_week_shows_no_other_brands_booking(staff_client, brand, other_world, session_type):
    shared = other_world["assignment"]
    own = AssignmentFactory(brand=brand, instructor=shared.instructor, timezone="Europe/Berlin", buffer_minutes=0)
    available_every_day(own)

    response = staff_client.get(WEEK, {"instructor": shared.instructor_id})

    assert response.context["week"].columns[0].assignment == own
    today = day_of(response, dt.date(2026, 12, 1))
    assert today.bookings == []
    busy = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)  # the other brand's session: not free here either
    assert all(not (free.start <= busy < free.end) for free in today.free)
    content = response.content.decode()
    assert "Grace Hidden" not in content and "Globex" not in content


# --- today -------------------------------------------------------------------------------------------------------


def test_today_lists_each_instructors_local_today_with_its_buttons(
    staff_client, berlin_coach, new_york_coach, session_type, frozen
):
    frozen.move_to(
        dt.datetime(2026, 12, 1, 23, 30, tzinfo=dt.UTC)
    )  # 00:30 on the 2nd in Berlin, 18:30 on the 1st in NY
    berlin = book_at(berlin_coach, session_type, dt.datetime(2026, 12, 2, 8, 0, tzinfo=dt.UTC), name="Bea Berlin")
    york = book_at(
        new_york_coach,
        session_type,
        dt.datetime(2026, 12, 2, 0, 0, tzinfo=dt.UTC),
        name="Yan York",
        enforce_availability=False,
    )
    book_at(berlin_coach, session_type, dt.datetime(2026, 12, 3, 8, 0, tzinfo=dt.UTC), name="Tom Tomorrow")

    response = staff_client.get(TODAY)

    rows = response.context["rows"]
    assert [row["booking"] for row in rows] == [york, berlin]  # NY's 19:00 on the 1st, Berlin's 09:00 on the 2nd
    assert [action["name"] for action in rows[0]["actions"]] == ["confirm", "reschedule", "cancel"]
    content = response.content.decode()
    assert "Tom Tomorrow" not in content and "Grace Hidden" not in content
    assert "19:00–20:00" in content and "09:00–10:00" in content


def test_a_quick_button_on_today_acts_and_comes_back(staff_client, berlin_coach, session_type):
    booking = book_at(berlin_coach, session_type, dt.datetime(2026, 12, 1, 10, 0, tzinfo=dt.UTC))
    (row,) = staff_client.get(TODAY).context["rows"]
    (confirm,) = [action for action in row["actions"] if action["name"] == "confirm"]
    assert confirm["quick"]

    response = staff_client.post(confirm["url"], {"_quick": "1", "next": TODAY}, follow=True)

    assert response.redirect_chain[-1][0] == TODAY
    assert Booking.objects.get(pk=booking.pk).status == "confirmed"
    (row,) = response.context["rows"]
    assert [action["name"] for action in row["actions"]] == ["reschedule", "cancel"]


def test_a_refused_quick_button_says_why_on_today(staff_client, berlin_coach, session_type):
    booking = book_at(berlin_coach, session_type, dt.datetime(2026, 12, 1, 10, 0, tzinfo=dt.UTC))
    booking_confirm(booking=booking, actor=STAFF)
    url = reverse("admin:bookings_booking_complete", args=[booking.pk])

    response = staff_client.post(url, {"_quick": "1", "next": TODAY}, follow=True)

    assert response.redirect_chain[-1][0] == TODAY
    assert any("only once the session has started" in str(m) for m in response.context["messages"])
    assert Booking.objects.get(pk=booking.pk).status == "confirmed"


def test_another_day_and_its_navigation(staff_client, berlin_coach, session_type):
    book_at(berlin_coach, session_type, BERLIN_SLOT, name="Wed Student")

    response = staff_client.get(TODAY, {"date": "2026-12-02"})

    assert [row["booking"].attendee_name for row in response.context["rows"]] == ["Wed Student"]
    assert "date=2026-12-01" in response.context["previous_url"]
    assert "date=2026-12-03" in response.context["next_url"]


# --- the dashboard on the admin index -------------------------------------------------------------------------


def test_the_dashboard_shows_todays_sessions_and_pending_confirmations_of_the_users_brands(
    staff_client, berlin_coach, session_type
):
    confirmed = book_at(berlin_coach, session_type, dt.datetime(2026, 12, 1, 10, 0, tzinfo=dt.UTC), name="Ana Today")
    booking_confirm(booking=confirmed, actor=STAFF)
    book_at(berlin_coach, session_type, BERLIN_SLOT, name="Pia Pending")

    response = staff_client.get(reverse("admin:index"))

    panels = {panel.title: panel for panel in response.context["dashboard_panels"]}
    assert panels["Today's sessions"].count == 1  # the other brand's session today is not counted
    assert panels["Pending confirmations"].count == 1
    content = response.content.decode()
    assert "Ana Today" in content and "Pia Pending" in content and "Grace Hidden" not in content
    for url in (WEEK, TODAY, reverse("admin:bookings_booking_add")):
        assert url in content


def test_the_index_groups_system_apps_apart_from_the_business(admin_client):
    response = admin_client.get(reverse("admin:index"))

    labels = [app["app_label"] for app in response.context["app_list"]]
    assert labels[:3] == ["bookings", "scheduling", "notifications"]
    assert labels.index("django_celery_beat") > labels.index("notifications")
    assert not next(app for app in response.context["app_list"] if app["app_label"] == "django_celery_beat")[
        "is_business"
    ]
    content = response.content.decode()
    assert content.index("System: accounts and periodic task schedules") < content.index("Periodic tasks")


# --- the booking list --------------------------------------------------------------------------------------


def test_the_list_shows_local_time_with_zone_and_utc_on_hover(staff_client, berlin_coach, session_type):
    book_at(berlin_coach, session_type, BERLIN_SLOT)

    content = staff_client.get(CHANGELIST).content.decode()

    assert 'title="2026-12-02 10:00 UTC">Wed 2 Dec 2026, 11:00</time>' in content
    assert "Europe/Berlin, CET" in content


def test_the_list_has_status_and_payment_and_names_the_brand_only_for_several(staff_client, admin_client, berlin_coach):
    staff_columns = staff_client.get(CHANGELIST).context["cl"].list_display
    admin_columns = admin_client.get(CHANGELIST).context["cl"].list_display

    assert {"status_badge", "payment_badge"} <= set(staff_columns) and "brand" not in staff_columns
    assert len(staff_columns) <= 7  # with the action checkbox: 8 narrow columns fit at 1400 px
    assert "brand" in admin_columns


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        ("today", {"Yan York"}),
        ("tomorrow", {"Bea Berlin"}),
        ("this_week", {"Yan York", "Bea Berlin", "Wes Week"}),
        ("next_week", {"Nat Next"}),
        ("upcoming", {"Yan York", "Bea Berlin", "Wes Week", "Nat Next"}),
        ("past", set()),
        ("nonsense", set()),
    ],
)
def test_the_when_filter_uses_each_bookings_local_day(
    staff_client, berlin_coach, new_york_coach, session_type, when, expected
):
    # NOW is Tuesday 1 December 2026, 08:00 UTC: 09:00 in Berlin, 03:00 in New York.
    late = dt.datetime(2026, 12, 1, 23, 30, tzinfo=dt.UTC)  # 00:30 Wed in Berlin, 18:30 Tue in NY
    book_at(new_york_coach, session_type, late, name="Yan York", enforce_availability=False)
    book_at(berlin_coach, session_type, late, name="Bea Berlin", enforce_availability=False)
    book_at(berlin_coach, session_type, dt.datetime(2026, 12, 6, 10, tzinfo=dt.UTC), name="Wes Week")
    book_at(berlin_coach, session_type, dt.datetime(2026, 12, 7, 10, tzinfo=dt.UTC), name="Nat Next")

    response = staff_client.get(CHANGELIST, {"when": when})

    assert {booking.attendee_name for booking in response.context["cl"].result_list} == expected


@pytest.mark.parametrize("url", [WEEK, TODAY, reverse("admin:bookings_booking_add")])
def test_strangers_are_sent_to_the_login(client, url):
    response = client.get(url)

    assert response.status_code == 302 and response.url.startswith(reverse("admin:login"))


def test_a_staff_user_without_brands_sees_no_one(berlin_coach, session_type, django_user_model, frozen):
    from django.test import Client

    from scheduling.services import staff_user_create

    book_at(berlin_coach, session_type, dt.datetime(2026, 12, 1, 10, 0, tzinfo=dt.UTC), name="Ana Today")
    client = Client()
    client.force_login(staff_user_create(username="nobody", password="pw", brands=[]))

    week = client.get(WEEK)
    today = client.get(TODAY)

    assert week.status_code == 200 and week.context["week"].columns == []
    assert today.status_code == 200 and today.context["rows"] == []
    assert client.get(WEEK, {"instructor": berlin_coach.instructor_id}).status_code == 404


def test_today_and_the_dashboard_read_as_many_queries_for_many_sessions_as_for_few(
    staff_client, berlin_coach, new_york_coach, session_type
):
    def queries(url) -> int:
        with CaptureQueriesContext(connection) as captured:
            assert staff_client.get(url).status_code == 200
        return len(captured)

    def book_day(coach, day: int, hours) -> None:
        for hour in hours:
            start = dt.datetime(2026, 12, day, hour, 0, tzinfo=dt.UTC)
            book_at(coach, session_type, start, name=f"S{day}-{hour}", enforce_availability=False)

    book_day(berlin_coach, 1, range(9, 16))  # 7 today: more than the dashboard lists
    staff_client.get(TODAY)
    few = (queries(TODAY), queries(reverse("admin:index")))
    book_day(new_york_coach, 1, range(14, 21))  # 7 more today
    book_day(berlin_coach, 2, range(8, 16))  # 8 more pending

    assert len(staff_client.get(TODAY).context["rows"]) == 14
    assert (queries(TODAY), queries(reverse("admin:index"))) == few
