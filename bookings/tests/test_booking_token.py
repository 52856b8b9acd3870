"""A public key opens one booking only with that booking's own token.

A ``public`` key is embedded in a brand's web site, so anyone can read it.
Without the booking's token (``X-Booking-Token``), ``GET``, ``PATCH`` and
``DELETE /api/bookings/{id}`` answer exactly as for an unknown booking, by id
and by uid, and change nothing. With it, the student sees their booking
without what the studio keeps for itself, and may cancel or reschedule before
the cutoff. Secret keys behave as they always did, token or not.
"""

import datetime as dt

import pytest
import time_machine
from rest_framework.test import APIClient

from bookings.links import manage_token
from bookings.models import Booking, Event
from bookings.tests.conftest import SLOT, iso
from scheduling.services import api_key_create

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen")]

LATER = SLOT + dt.timedelta(days=3)
HIDDEN_FROM_STUDENTS = {"instructor_notes", "payments"}


def token_header(token: str) -> dict[str, str]:
    return {"HTTP_X_BOOKING_TOKEN": token}


@pytest.fixture
def bookings(api, booking_body):
    """Two students' bookings of the brand, made with the secret key, with studio-only data on them."""
    made = []
    for index, email in enumerate(["ada@example.com", "bob@example.com"]):
        body = booking_body(start_at=iso(LATER + dt.timedelta(hours=2 * index)), attendee_email=email)
        created = api.post("/api/bookings", body, format="json").json()
        api.patch(f"/api/bookings/{created['id']}", {"instructor_notes": "Owes 20 EUR"}, format="json")
        made.append(Booking.objects.get(pk=created["id"]))
    return made


def state(booking: Booking) -> tuple:
    row = Booking.objects.get(pk=booking.pk)
    return row.status, row.start_at, row.cancellation_reason, row.instructor_notes, Event.objects.count()


def altered(token: str) -> str:
    return token[:-1] + ("0" if token[-1] != "0" else "1")


def bad_tokens(booking: Booking, other: Booking) -> dict[str, dict[str, str]]:
    token = manage_token(booking.uid)
    return {
        "missing": {},
        "empty": token_header(""),
        "malformed": token_header("not a token at all"),
        "other booking's": token_header(manage_token(other.uid)),
        "altered": token_header(altered(token)),
        "truncated": token_header(token[:-4]),
        "uid instead of token": token_header(str(booking.uid)),
    }


@pytest.mark.parametrize("address", ["id", "uid"])
@pytest.mark.parametrize(
    "kind", ["missing", "empty", "malformed", "other booking's", "altered", "truncated", "uid instead of token"]
)
def test_a_public_key_without_the_bookings_token_gets_the_unknown_booking_404(public_api, api, bookings, address, kind):
    booking, other = bookings
    headers = bad_tokens(booking, other)[kind]
    path = f"/api/bookings/{getattr(booking, address)}"
    unknown = f"/api/bookings/{999999 if address == 'id' else '00000000-0000-4000-8000-000000000000'}"
    before = state(booking)

    answers = [
        public_api.get(path, **headers),
        public_api.patch(path, {"status": "cancelled"}, format="json", **headers),
        public_api.patch(path, {"start_at": iso(LATER + dt.timedelta(days=1))}, format="json", **headers),
        public_api.delete(path, **headers),
    ]

    for answer in answers:
        assert answer.status_code == 404, answer.content
        body = answer.json()
        assert body["code"] == "not_found"
        # Exactly the answer for a booking that does not exist: nothing tells the two apart.
        unknown_body = public_api.get(unknown, **headers).json()
        assert body["detail"].replace(str(getattr(booking, address)), "X") == unknown_body["detail"].replace(
            unknown.rsplit("/", 1)[1], "X"
        )
        text = answer.content.decode()
        assert booking.attendee_email not in text and booking.attendee_name not in text
        assert booking.attendee_phone not in text and "Owes" not in text
    assert state(booking) == before


@pytest.mark.parametrize("address", ["id", "uid"])
def test_with_its_token_the_student_reads_their_booking_without_studio_data(public_api, bookings, address):
    booking, _ = bookings
    response = public_api.get(f"/api/bookings/{getattr(booking, address)}", **token_header(manage_token(booking.uid)))

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["id"] == booking.id and body["uid"] == str(booking.uid)
    assert body["attendee_email"] == "ada@example.com"
    assert not HIDDEN_FROM_STUDENTS & set(body)
    assert "Owes" not in response.content.decode()


def test_with_its_token_the_student_cancels_and_reschedules_and_sees_no_studio_data(public_api, bookings):
    booking, other = bookings
    token = token_header(manage_token(booking.uid))
    path = f"/api/bookings/{booking.uid}"

    moved = public_api.patch(path, {"start_at": iso(LATER + dt.timedelta(days=1))}, format="json", **token)
    cancelled = public_api.patch(path, {"status": "cancelled", "cancellation_reason": "Ill"}, format="json", **token)

    assert moved.status_code == 200, moved.content
    assert moved.json()["start_at"] == iso(LATER + dt.timedelta(days=1))
    assert cancelled.status_code == 200, cancelled.content
    assert cancelled.json()["status"] == "cancelled"
    assert not HIDDEN_FROM_STUDENTS & (set(moved.json()) | set(cancelled.json()))
    row = Booking.objects.get(pk=booking.pk)
    assert (row.status, row.cancelled_by, row.cancellation_reason) == ("cancelled", "student", "Ill")
    assert Booking.objects.get(pk=other.pk).status == "pending"


def test_with_its_token_the_student_deletes_their_booking(public_api, bookings):
    booking, _ = bookings

    response = public_api.delete(f"/api/bookings/{booking.id}", **token_header(manage_token(booking.uid)))

    assert response.status_code == 204
    assert Booking.objects.get(pk=booking.pk).status == "cancelled"


def test_with_its_token_the_student_still_may_only_cancel_or_reschedule(public_api, bookings):
    booking, _ = bookings
    token = token_header(manage_token(booking.uid))
    before = state(booking)

    for change in ({"status": "confirmed"}, {"instructor_notes": "mine now"}, {"status": "completed"}):
        response = public_api.patch(f"/api/bookings/{booking.id}", change, format="json", **token)
        assert response.status_code == 403, (change, response.content)
    assert state(booking) == before


def test_the_cutoff_still_applies_with_the_token(public_api, bookings):
    booking, _ = bookings
    token = token_header(manage_token(booking.uid))
    before = state(booking)

    with time_machine.travel(booking.start_at - dt.timedelta(hours=2), tick=False):
        response = public_api.delete(f"/api/bookings/{booking.id}", **token)

    assert response.status_code == 409
    assert response.json()["code"] == "cutoff_passed"
    assert state(booking) == before


def test_the_token_stops_opening_the_booking_once_the_session_has_ended(public_api, api, bookings):
    booking, _ = bookings
    token = token_header(manage_token(booking.uid))

    with time_machine.travel(booking.end_at - dt.timedelta(seconds=1), tick=False):
        assert public_api.get(f"/api/bookings/{booking.id}", **token).status_code == 200
    with time_machine.travel(booking.end_at, tick=False):
        assert public_api.get(f"/api/bookings/{booking.id}", **token).status_code == 404
        assert api.get(f"/api/bookings/{booking.id}").status_code == 200


def test_another_brands_public_key_with_the_right_token_gets_404(other_brand, bookings):
    booking, _ = bookings
    _, key = api_key_create(brand=other_brand, scope="public")
    stranger = APIClient()
    stranger.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    before = state(booking)

    for method in ("get", "delete"):
        response = getattr(stranger, method)(f"/api/bookings/{booking.uid}", **token_header(manage_token(booking.uid)))
        assert response.status_code == 404
    assert state(booking) == before


@pytest.mark.parametrize("headers", [{}, "own", "other"], ids=["no token", "own token", "another token"])
def test_a_secret_key_behaves_as_before_with_or_without_a_token(api, bookings, headers):
    booking, other = bookings
    if headers == "own":
        headers = token_header(manage_token(booking.uid))
    elif headers == "other":
        headers = token_header(manage_token(other.uid))

    read = api.get(f"/api/bookings/{booking.id}", **headers)
    by_uid = api.get(f"/api/bookings/{booking.uid}", **headers)
    confirmed = api.patch(f"/api/bookings/{booking.id}", {"status": "confirmed"}, format="json", **headers)

    assert read.status_code == by_uid.status_code == confirmed.status_code == 200
    assert read.json()["instructor_notes"] == "Owes 20 EUR" and read.json()["payments"] == []
    assert by_uid.json()["id"] == booking.id
    assert confirmed.json()["status"] == "confirmed"


def test_the_public_create_answer_leaves_out_studio_data_but_carries_the_token(public_api, booking_body):
    response = public_api.post("/api/bookings", booking_body(), format="json")

    assert response.status_code == 201
    body = response.json()
    assert not HIDDEN_FROM_STUDENTS & set(body)
    assert "warnings" in body
    token = body["manage_url"].rsplit("token=", 1)[1]
    assert public_api.get(f"/api/bookings/{body['uid']}", **token_header(token)).status_code == 200


def test_a_public_key_cannot_list_bookings(public_api, bookings):
    assert public_api.get("/api/bookings").status_code == 403


def test_a_lookup_that_is_neither_an_id_nor_a_uid_is_not_a_booking_path(api):
    assert api.get("/api/bookings/not-a-booking").status_code == 404
    assert api.get("/api/bookings/12ab").status_code == 404
