"""The instructor's calendar feed: ``POST /api/instructors/{id}/calendar-feed`` and the secret ``.ics`` URL."""

import datetime as dt
from urllib.parse import urlsplit

import icalendar
import pytest
from rest_framework.test import APIClient

from bookings import services
from bookings.models import CalendarFeed
from bookings.tests.conftest import NOW, SLOT
from bookings.tests.factories import BookingFactory
from scheduling.tests.factories import AssignmentFactory, EventTypeFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen")]

STUDENT = {
    "attendee_name": "Ada Lovelace-Byron",
    "attendee_email": "ada.private@example.com",
    "attendee_phone": "+4915122222222",
    "notes": "Call me on my mobile",
}


def rotate(api, instructor_id):
    return api.post(f"/api/instructors/{instructor_id}/calendar-feed")


def path_of(url: str) -> str:
    return urlsplit(url).path


def fetch(url: str, **headers):
    return APIClient().get(path_of(url), **headers)


def events_of(response) -> list:
    return icalendar.Calendar.from_ical(response.content).walk("VEVENT")


@pytest.fixture
def feed_url(api, instructor):
    return rotate(api, instructor.id).json()["url"]


def booking(assignment, start=SLOT, **fields):
    return BookingFactory(
        brand=assignment.brand,
        instructor=assignment.instructor,
        start_at=start,
        **{**STUDENT, **fields},
    )


# --- issuing and rotating the URL -----------------------------------------------------------------


def test_post_answers_a_secret_feed_url(api, instructor):
    response = rotate(api, instructor.id)

    assert response.status_code == 200, response.content
    assert set(response.json()) == {"url"}
    url = response.json()["url"]
    feed = CalendarFeed.objects.get(instructor=instructor)
    assert url == f"http://testserver/feeds/instructors/{instructor.id}/{feed.token}.ics"
    assert len(feed.token) >= 43  # 256 random bits
    assert api.post(f"/api/instructors/{instructor.id}/calendar-feed/").status_code == 200  # with a slash too


def test_rotating_makes_the_previous_url_a_404(api, instructor):
    old = rotate(api, instructor.id).json()["url"]

    new = rotate(api, instructor.id).json()["url"]

    assert new != old
    assert fetch(old).status_code == 404
    assert fetch(new).status_code == 200
    assert CalendarFeed.objects.count() == 1


def test_an_altered_or_another_instructors_token_is_a_404(api, brand, instructor):
    url = rotate(api, instructor.id).json()["url"]
    colleague = AssignmentFactory(brand=brand).instructor
    colleague_url = rotate(api, colleague.id).json()["url"]
    token = url.rsplit("/", 1)[1].removesuffix(".ics")
    colleague_token = colleague_url.rsplit("/", 1)[1].removesuffix(".ics")
    altered = token[:-1] + ("A" if token[-1] != "A" else "B")

    assert fetch(f"/feeds/instructors/{instructor.id}/{altered}.ics").status_code == 404
    assert fetch(f"/feeds/instructors/{instructor.id}/{colleague_token}.ics").status_code == 404
    assert fetch(f"/feeds/instructors/{colleague.id}/{token}.ics").status_code == 404
    assert fetch(f"/feeds/instructors/{instructor.id}/{token[:10]}.ics").status_code == 404
    assert fetch(f"/feeds/instructors/{instructor.id + 999}/{token}.ics").status_code == 404


def test_an_instructor_without_a_feed_has_no_url(instructor):
    assert fetch(f"/feeds/instructors/{instructor.id}/anything.ics").status_code == 404


def test_only_a_secret_key_of_one_of_the_instructors_brands_may_issue_it(
    public_api, other_api, anonymous_api, instructor
):
    assert rotate(public_api, instructor.id).status_code == 403
    assert rotate(other_api, instructor.id).status_code == 404
    assert rotate(anonymous_api, instructor.id).status_code == 401
    assert rotate(public_api, 999999).status_code == 403
    assert not CalendarFeed.objects.exists()


def test_the_service_issues_a_new_token_each_time(instructor):
    first = services.calendar_feed_rotate(instructor=instructor).token
    second = services.calendar_feed_rotate(instructor=instructor).token

    assert first != second
    assert CalendarFeed.objects.get().token == second


# --- what the feed shows --------------------------------------------------------------------------


def test_the_feed_is_an_icalendar_of_the_instructors_sessions(feed_url, assignment):
    first = booking(assignment)
    booking(assignment, SLOT + dt.timedelta(hours=2), status="pending")

    response = fetch(feed_url)

    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    calendar = icalendar.Calendar.from_ical(response.content)
    assert str(calendar["method"]) == "PUBLISH"
    assert "REFRESH-INTERVAL;VALUE=DURATION:PT1H" in response.content.decode()  # how often to poll
    assert "X-PUBLISHED-TTL:PT1H" in response.content.decode()
    events = calendar.walk("VEVENT")
    assert [str(event["uid"]) for event in events][0] == f"{first.uid}@testserver"
    assert [event.decoded("dtstart") for event in events] == [SLOT, SLOT + dt.timedelta(hours=2)]
    assert [event.decoded("dtend") for event in events] == [SLOT + dt.timedelta(hours=1), SLOT + dt.timedelta(hours=3)]
    assert [str(event["status"]) for event in events] == ["CONFIRMED", "TENTATIVE"]


def test_only_the_first_name_and_the_session_type_appear(feed_url, assignment):
    session = booking(assignment)

    text = fetch(feed_url).content.decode()

    (event,) = icalendar.Calendar.from_ical(text).walk("VEVENT")
    assert str(event["summary"]) == f"{session.event_type.name}: Ada"
    for private in ("Lovelace", "ada.private@example.com", "+4915122222222", "mobile", "mailto:"):
        assert private not in text


def test_cancelled_sessions_are_removed_and_completed_ones_stay(feed_url, assignment):
    kept = booking(assignment)
    booking(assignment, SLOT + dt.timedelta(hours=2), status="cancelled")
    past = booking(assignment, NOW - dt.timedelta(days=2), status="completed")

    uids = [str(event["uid"]) for event in events_of(fetch(feed_url))]

    assert uids == [f"{past.uid}@testserver", f"{kept.uid}@testserver"]


def test_the_feed_covers_30_days_back_and_180_ahead(feed_url, assignment):
    today = dt.datetime.combine(NOW.date(), dt.time(0), tzinfo=dt.UTC)
    inside = [
        booking(assignment, today - dt.timedelta(days=30)),
        booking(assignment, today + dt.timedelta(days=180, hours=9)),
    ]
    booking(assignment, today - dt.timedelta(days=31))
    booking(assignment, today + dt.timedelta(days=181, hours=9))

    uids = [str(event["uid"]) for event in events_of(fetch(feed_url))]

    assert uids == [f"{b.uid}@testserver" for b in inside]


def test_the_feed_covers_every_brand_of_the_instructor(api, assignment, other_brand):
    elsewhere = AssignmentFactory(brand=other_brand, instructor=assignment.instructor)
    here = booking(assignment)
    there = BookingFactory(
        brand=other_brand,
        instructor=assignment.instructor,
        event_type=EventTypeFactory(brand=other_brand, name="Globex drill"),
        start_at=SLOT + dt.timedelta(hours=3),
        attendee_name="Grace Hopper",
    )
    url = rotate(api, elsewhere.instructor_id).json()["url"]

    events = events_of(fetch(url))

    assert [str(event["uid"]) for event in events] == [f"{here.uid}@testserver", f"{there.uid}@testserver"]
    assert str(events[1]["summary"]) == "Globex drill: Grace"
    assert "Globex Coaching" in str(events[1]["description"])


def test_a_reschedule_keeps_the_uid_and_bumps_the_sequence(api, feed_url, booking_body):
    created = api.post("/api/bookings", booking_body(), format="json").json()
    before = events_of(fetch(feed_url))

    api.patch(f"/api/bookings/{created['id']}", {"start_at": "2026-12-02T14:00:00Z"}, format="json")
    after = events_of(fetch(feed_url))

    assert [str(e["uid"]) for e in before] == [str(e["uid"]) for e in after] == [f"{created['uid']}@testserver"]
    assert (int(before[0]["sequence"]), int(after[0]["sequence"])) == (0, 1)
    assert after[0].decoded("dtstart") == dt.datetime(2026, 12, 2, 14, tzinfo=dt.UTC)


def test_the_feed_costs_the_same_queries_for_many_sessions(feed_url, assignment, django_assert_max_num_queries):
    for hour in range(9, 17):
        for day in range(30):
            booking(assignment, SLOT + dt.timedelta(days=day, hours=hour - 10))

    with django_assert_max_num_queries(2):
        response = fetch(feed_url)

    assert len(events_of(response)) == 240


# --- conditional GET ------------------------------------------------------------------------------


def test_the_feed_answers_304_when_the_calendar_app_has_the_current_copy(feed_url, assignment):
    booking(assignment)
    first = fetch(feed_url)

    by_etag = fetch(feed_url, HTTP_IF_NONE_MATCH=first["ETag"])
    by_date = fetch(feed_url, HTTP_IF_MODIFIED_SINCE=first["Last-Modified"])

    assert first["ETag"].startswith('"') and first["Last-Modified"].endswith("GMT")
    assert by_etag.status_code == by_date.status_code == 304
    assert by_etag.content == b""
    assert by_etag["ETag"] == first["ETag"]


def test_a_change_gives_a_new_etag_and_a_full_answer(feed_url, assignment, frozen):
    session = booking(assignment)
    first = fetch(feed_url)

    frozen.shift(dt.timedelta(minutes=5))
    services.booking_cancel(booking=session, actor=services.STAFF)
    after = fetch(feed_url, HTTP_IF_NONE_MATCH=first["ETag"])
    after_date = fetch(feed_url, HTTP_IF_MODIFIED_SINCE=first["Last-Modified"])

    assert after.status_code == after_date.status_code == 200
    assert after["ETag"] != first["ETag"]
    assert events_of(after) == []


def test_the_same_bookings_give_the_same_bytes(feed_url, assignment, frozen):
    booking(assignment)
    first = fetch(feed_url)

    frozen.shift(dt.timedelta(hours=1))
    again = fetch(feed_url)

    assert again.content == first.content
    assert again["ETag"] == first["ETag"]


def test_the_window_moving_at_midnight_is_a_change(feed_url, assignment, frozen):
    booking(assignment)
    first = fetch(feed_url)

    frozen.move_to(NOW + dt.timedelta(days=1))
    next_day = fetch(feed_url, HTTP_IF_MODIFIED_SINCE=first["Last-Modified"])

    assert next_day.status_code == 200


def test_head_works_and_writes_are_refused(feed_url):
    client = APIClient()

    assert client.head(path_of(feed_url)).status_code == 200
    assert client.post(path_of(feed_url)).status_code == 405
    assert client.delete(path_of(feed_url)).status_code == 405
