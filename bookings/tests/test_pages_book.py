"""The booking page ``/<brand>/<instructor>/<session type>/``: the week's free times and the booking form.

The shared set-up (``bookings/tests/conftest.py``): the clock at Tuesday
2026-12-01 08:00 UTC, an instructor in UTC free 09:00-17:00 every day,
buffer 0, cutoff 24 h, and 60-minute session types.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.test import Client

from bookings.models import Booking, Event, IdempotencyRecord
from bookings.tests.conftest import SLOT, iso
from bookings.tests.factories import BookingFactory
from scheduling.tests.factories import AssignmentFactory, EventTypeFactory, available_every_day

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen")]

TOKEN = "0123456789abcdef0123456789abcdef"


@pytest.fixture
def page(brand, instructor, session_type) -> str:
    return f"/{brand.slug}/{instructor.slug}/{session_type.slug}/"


@pytest.fixture
def form_data():
    def build(**overrides):
        data = {
            "form_token": TOKEN,
            "start_at": iso(SLOT),
            "student_timezone": "Europe/Berlin",
            "attendee_name": "Ada Student",
            "attendee_email": "ada@example.com",
            "attendee_phone": "",
            "notes": "First session",
        }
        data.update(overrides)
        return {key: value for key, value in data.items() if value is not None}

    return build


def offered_values(html: str) -> list[str]:
    return re.findall(r'name="start_at" id="slot-\d+" value="([^"]+)"', html)


# --- the calendar ---------------------------------------------------------------------


def test_the_week_shows_the_free_times_in_the_instructors_zone_by_default(client, page):
    response = client.get(page)
    html = response.content.decode()
    assert response.status_code == 200
    values = offered_values(html)
    # Tuesday from 09:00 (now is 08:00) to Sunday: 6 days x 8 hours.
    assert values[0] == "2026-12-01T09:00:00Z"
    assert values[-1] == "2026-12-06T16:00:00Z"
    assert len(values) == 6 * 8
    assert "times in UTC" in html
    assert "<title>" in html and "with" in html


def test_times_are_shown_in_the_chosen_timezone(client, page):
    html = client.get(page, {"tz": "Asia/Tokyo"}).content.decode()
    # 09:00 UTC on Tuesday is 18:00 in Tokyo; the radio still sends UTC.
    assert re.search(r'value="2026-12-01T09:00:00Z"[^>]*>\s*<label[^>]*>18:00', html)
    assert "times in Asia/Tokyo" in html
    assert '<option value="Asia/Tokyo" selected>' in html


def test_an_unknown_timezone_is_a_clear_error_naming_it(client, page):
    response = client.get(page, {"tz": "Mars/Olympus_Mons"})
    html = response.content.decode()
    assert response.status_code == 400
    assert "Unknown timezone &#x27;Mars/Olympus_Mons&#x27;" in html
    assert 'aria-invalid="true"' in html
    # The calendar still shows, in the default zone.
    assert "times in UTC" in html and offered_values(html)


def test_a_malformed_week_is_a_clear_error(client, page):
    response = client.get(page, {"week": "next-tuesday"})
    assert response.status_code == 400
    assert "Give the week as a date" in response.content.decode()


def test_the_next_week_link_moves_a_week_and_the_past_is_not_offered(client, page):
    html = client.get(page, {"tz": "UTC", "week": "2026-12-08"}).content.decode()
    values = offered_values(html)
    assert values[0] == "2026-12-07T09:00:00Z"  # the Monday of that week
    assert "week=2026-11-30" in html  # previous week link
    assert "week=2026-12-14" in html
    past = client.get(page, {"tz": "UTC", "week": "2025-01-01"}).content.decode()
    assert offered_values(past)[0] == "2026-12-01T09:00:00Z"  # kept in the bookable weeks
    assert 'rel="prev"' not in past


def test_the_calendar_opens_on_the_first_week_with_a_free_time(client, brand, session_type):
    assignment = AssignmentFactory(brand=brand, timezone="UTC", buffer_minutes=0, minimum_notice_minutes=10 * 24 * 60)
    available_every_day(assignment)
    page = f"/{brand.slug}/{assignment.instructor.slug}/{session_type.slug}/"
    html = client.get(page).content.decode()
    # The notice ends on Friday 2026-12-11 at 08:00: that week opens, at its first free time.
    assert offered_values(html)[0] == "2026-12-11T09:00:00Z"
    assert "Monday 7 December to Sunday 13 December 2026" in html


def test_taken_times_are_not_offered(client, page, brand, instructor, session_type):
    BookingFactory(brand=brand, instructor=instructor, event_type=session_type, start_at=SLOT)
    values = offered_values(client.get(page).content.decode())
    assert iso(SLOT) not in values
    assert iso(SLOT - dt.timedelta(hours=1)) in values


def test_the_page_costs_a_flat_number_of_queries(
    client, page, brand, instructor, session_type, django_assert_max_num_queries
):
    for day in range(5):
        BookingFactory(
            brand=brand, instructor=instructor, event_type=session_type, start_at=SLOT + dt.timedelta(days=day)
        )
    with django_assert_max_num_queries(6):
        assert client.get(page).status_code == 200


def test_priced_and_confirmed_types_say_so(client, brand, instructor, paid_type):
    html = client.get(f"/{brand.slug}/{instructor.slug}/{paid_type.slug}/").content.decode()
    assert "50.00 EUR" in html
    assert "confirmed by Acme Coaching after you book" in html
    assert "Request this session" in html


def test_the_page_asks_the_script_to_detect_the_zone_only_without_tz(client, page):
    assert "data-detect-timezone" in client.get(page).content.decode()
    assert "data-detect-timezone" not in client.get(page, {"tz": "UTC"}).content.decode()


@pytest.mark.parametrize(
    "path",
    [
        "/nobody/",
        "/acme/nobody/",
        "/acme/{instructor}/no-such-type/",
        "/nobody/{instructor}/{type}/",
    ],
)
def test_unknown_brand_instructor_or_type_is_the_friendly_404(client, path, instructor, session_type):
    response = client.get(path.format(instructor=instructor.slug, type=session_type.slug))
    assert response.status_code == 404
    html = response.content.decode()
    assert "Page not found" in html
    assert instructor.name not in html and session_type.name not in html


def test_an_inactive_type_and_another_brands_instructor_are_unknown(client, brand, other_brand, instructor):
    inactive = EventTypeFactory(brand=brand, is_active=False)
    assert client.get(f"/{brand.slug}/{instructor.slug}/{inactive.slug}/").status_code == 404
    foreign = AssignmentFactory(brand=other_brand).instructor
    own_type = EventTypeFactory(brand=brand)
    assert client.get(f"/{brand.slug}/{foreign.slug}/{own_type.slug}/").status_code == 404
    foreign_type = EventTypeFactory(brand=other_brand)
    assert client.get(f"/{brand.slug}/{instructor.slug}/{foreign_type.slug}/").status_code == 404


# --- booking -----------------------------------------------------------------------------


def test_booking_creates_one_pending_booking_and_opens_its_page(client, page, form_data, brand, instructor):
    response = client.post(page, form_data())
    assert response.status_code == 302
    booking = Booking.objects.get()
    assert response["Location"].startswith(f"/booking/{booking.uid}/?token=")
    assert response["Location"].endswith("&notice=booked")
    assert booking.status == "pending"
    assert (booking.brand, booking.instructor) == (brand, instructor)
    assert booking.start_at == SLOT and booking.end_at == SLOT + dt.timedelta(hours=1)
    assert booking.student_timezone == "Europe/Berlin"
    assert booking.instructor_timezone == "UTC"
    assert booking.notes == "First session"
    assert list(Event.objects.values_list("type", flat=True)) == ["booking.created"]
    page_html = client.get(response["Location"]).content.decode()
    assert "Your request is in" in page_html


def test_a_type_without_confirmation_is_booked_at_once(client, brand, instructor, instant_type, form_data):
    client.post(f"/{brand.slug}/{instructor.slug}/{instant_type.slug}/", form_data())
    assert Booking.objects.get().status == "confirmed"


def test_a_double_submit_books_once_and_both_answers_open_the_same_booking(client, page, form_data):
    first = client.post(page, form_data())
    second = client.post(page, form_data())
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"]
    assert Booking.objects.count() == 1
    assert Event.objects.filter(type="booking.created").count() == 1
    assert IdempotencyRecord.objects.get().key == f"booking-page:{TOKEN}"


def test_the_same_form_sent_again_with_other_details_books_nothing_more(client, page, form_data):
    client.post(page, form_data())
    response = client.post(page, form_data(attendee_email="someone@example.com"))
    assert response.status_code == 409
    assert "already sent with other details" in response.content.decode()
    assert Booking.objects.count() == 1


def test_a_new_form_gets_a_fresh_token(client, page):
    first = re.search(r'name="form_token" value="([0-9a-f]{32})"', client.get(page).content.decode()).group(1)
    second = re.search(r'name="form_token" value="([0-9a-f]{32})"', client.get(page).content.decode()).group(1)
    assert first != second


def test_the_phone_is_stored_in_e164_with_consent(client, page, form_data):
    client.post(page, form_data(attendee_phone="0049 151 1234-5678", sms_consent="on"))
    assert Booking.objects.get().attendee_phone == "+4915112345678"


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"attendee_email": ""}, "attendee_email", "This field is required."),
        ({"attendee_email": "not-an-email"}, "attendee_email", "Enter a valid email address."),
        ({"attendee_name": ""}, "attendee_name", "This field is required."),
        ({"attendee_name": "A" * 201}, "attendee_name", "at most 200 characters"),
        ({"attendee_phone": "12345", "sms_consent": "on"}, "attendee_phone", "international format"),
        ({"attendee_phone": "+4915112345678"}, "sms_consent", "tick this box"),
        ({"notes": "x" * 5001}, "notes", "at most 5000 characters"),
        ({"start_at": None}, "start_at", "Choose a time."),
        ({"start_at": "2026-12-02T10:00:00"}, "start_at", "This is not a session time."),
        ({"start_at": "soon"}, "start_at", "This is not a session time."),
        ({"student_timezone": "Mars/Base"}, "student_timezone", "Unknown timezone"),
        ({"form_token": "../../etc"}, "form_token", "reload the page"),
    ],
)
def test_bad_input_is_shown_next_to_its_field_and_books_nothing(client, page, form_data, overrides, field, message):
    response = client.post(page, form_data(**overrides))
    html = response.content.decode()
    assert response.status_code == 400
    assert message in html.replace("&#x27;", "'")
    if field not in ("start_at", "student_timezone", "form_token"):
        assert re.search(rf'id="id_{field}"[^>]*aria-invalid="true"|aria-invalid="true"[^>]*id="id_{field}"', html)
    assert Booking.objects.count() == 0
    assert Event.objects.count() == 0


def test_what_the_student_typed_is_kept_after_an_error(client, page, form_data):
    html = client.post(page, form_data(attendee_email="nope", notes="Bring the score")).content.decode()
    assert 'value="Ada Student"' in html
    assert "Bring the score" in html
    assert re.search(rf'value="{iso(SLOT)}" checked', html)


@pytest.mark.parametrize(
    ("start", "sentence"),
    [
        (SLOT + dt.timedelta(minutes=30), "Sessions start at set times"),  # off the grid
        (dt.datetime(2026, 12, 2, 20, 0, tzinfo=dt.UTC), "not available at this time"),  # outside availability
        (dt.datetime(2026, 11, 30, 10, 0, tzinfo=dt.UTC), "already passed"),
        (dt.datetime(2027, 6, 1, 10, 0, tzinfo=dt.UTC), "at most 90 days ahead"),
    ],
)
def test_a_tampered_time_is_refused_with_the_services_sentence(client, page, form_data, start, sentence):
    response = client.post(page, form_data(start_at=iso(start)))
    assert response.status_code == 409
    assert sentence in response.content.decode()
    assert Booking.objects.count() == 0 and Event.objects.count() == 0


def test_a_time_taken_meanwhile_shows_the_message_and_the_refreshed_week(
    client, page, form_data, brand, instructor, session_type
):
    assert iso(SLOT) in offered_values(client.get(page).content.decode())
    BookingFactory(brand=brand, instructor=instructor, event_type=session_type, start_at=SLOT)
    response = client.post(page, form_data())
    html = response.content.decode()
    assert response.status_code == 409
    assert "This time was just booked by someone else" in html
    values = offered_values(html)
    assert iso(SLOT) not in values and iso(SLOT + dt.timedelta(hours=1)) in values
    assert "checked" not in html.split('class="days"')[1].split("</fieldset>")[0]
    assert 'value="Ada Student"' in html  # the details are kept for the next try
    assert Booking.objects.count() == 1


def test_the_form_needs_its_csrf_token(page, form_data):
    strict = Client(enforce_csrf_checks=True)
    response = strict.post(page, form_data())
    assert response.status_code == 403
    assert Booking.objects.count() == 0
    html = strict.get(page).content.decode()
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)
    assert strict.post(page, {**form_data(), "csrfmiddlewaretoken": csrf}).status_code == 302
    assert Booking.objects.count() == 1


def test_a_form_token_sent_to_another_session_type_books_nothing_there(client, page, form_data, brand, instructor):
    client.post(page, form_data())
    other = EventTypeFactory(brand=brand, duration_minutes=60)
    response = client.post(f"/{brand.slug}/{instructor.slug}/{other.slug}/", form_data())
    assert response.status_code == 409
    assert Booking.objects.count() == 1 and not Booking.objects.filter(event_type=other).exists()


# --- a weekly series --------------------------------------------------------------------


@pytest.fixture
def weekly_type(brand):
    return EventTypeFactory(brand=brand, duration_minutes=60, allow_recurring=True, max_occurrences=8)


@pytest.fixture
def weekly_page(brand, instructor, weekly_type) -> str:
    return f"/{brand.slug}/{instructor.slug}/{weekly_type.slug}/"


def test_the_repeat_choice_is_offered_only_where_the_session_type_allows_it(client, page, weekly_page):
    plain = client.get(page).content.decode()
    weekly = client.get(weekly_page).content.decode()

    assert 'name="repeat_weeks"' not in plain
    assert 'name="repeat_weeks"' in weekly
    assert "Every week, 8 sessions" in weekly and "Every week, 9 sessions" not in weekly


def test_repeating_weekly_books_every_session_as_one_series_and_opens_the_first(
    client, weekly_page, form_data, django_capture_on_commit_callbacks
):
    from notifications.backends import outbox

    outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(weekly_page, form_data(repeat_weeks="4"))

    bookings = list(Booking.objects.order_by("start_at"))
    assert response.status_code == 302
    assert len(bookings) == 4 and len({booking.series_id for booking in bookings}) == 1
    assert [booking.start_at for booking in bookings] == [SLOT + dt.timedelta(weeks=week) for week in range(4)]
    assert str(bookings[0].uid) in response["Location"]
    page = client.get(response["Location"]).content.decode()
    assert "4 sessions booked" in page
    student_emails = [message for message in outbox if message.to == "ada@example.com"]
    assert len(student_emails) == 1  # one email listing every date


def test_a_series_with_one_taken_week_books_nothing_and_says_which(client, weekly_page, form_data, brand, instructor):
    BookingFactory(brand=brand, instructor=instructor, start_at=SLOT + dt.timedelta(weeks=2))
    before = Booking.objects.count()

    response = client.post(weekly_page, form_data(repeat_weeks="4"))

    html = response.content.decode()
    assert response.status_code == 409
    assert "1 of the 4 weekly sessions cannot be booked, so none was booked" in html
    assert Booking.objects.count() == before


@pytest.mark.parametrize("weeks", ["9", "27", "0", "many"])
def test_a_repeat_beyond_what_the_type_allows_is_refused_on_the_field(client, weekly_page, form_data, weeks):
    response = client.post(weekly_page, form_data(repeat_weeks=weeks))

    assert response.status_code == 400
    assert "repeat_weeks" in response.context["form"].errors
    assert Booking.objects.count() == 0


def test_a_repeat_sent_to_a_type_without_series_books_one_session(client, page, form_data):
    response = client.post(page, form_data(repeat_weeks="4"))

    assert response.status_code == 302
    assert Booking.objects.count() == 1
