"""The instructor's calendar feed in the back office: shown to copy, issued and reissued through the service."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from bookings.feeds import calendar_feed_url
from bookings.models import CalendarFeed
from scheduling.services import staff_user_create
from scheduling.tests.factories import AssignmentFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def coach(brand):
    return AssignmentFactory(brand=brand).instructor


@pytest.fixture
def staff_client(brand) -> Client:
    client = Client()
    client.force_login(staff_user_create(username="alice", password="pw", brands=[brand]))
    return client


def issue_url(instructor) -> str:
    return reverse("admin:bookings_calendarfeed_issue", args=[instructor.pk])


def feed_path(feed: CalendarFeed) -> str:
    return calendar_feed_url(feed).split("testserver", 1)[1]


def test_the_instructor_page_links_to_the_feed(staff_client, coach):
    page = staff_client.get(reverse("admin:scheduling_instructor_change", args=[coach.pk])).content.decode()

    assert issue_url(coach) in page


def test_staff_issue_the_feed_url_and_it_serves_the_calendar(staff_client, coach, client):
    assert "No URL has been issued yet" in staff_client.get(issue_url(coach)).content.decode()

    response = staff_client.post(issue_url(coach))

    assert response.status_code == 302
    feed = CalendarFeed.objects.get(instructor=coach)
    assert calendar_feed_url(feed) in staff_client.get(issue_url(coach)).content.decode()
    assert client.get(feed_path(feed)).status_code == 200


def test_issuing_again_makes_the_old_url_a_404(staff_client, coach, client):
    staff_client.post(issue_url(coach))
    old = feed_path(CalendarFeed.objects.get(instructor=coach))

    staff_client.post(issue_url(coach))

    new = feed_path(CalendarFeed.objects.get(instructor=coach))
    assert new != old
    assert client.get(old).status_code == 404
    assert client.get(new).status_code == 200


def test_the_reissue_action_on_the_feed_list(staff_client, coach, client):
    staff_client.post(issue_url(coach))
    feed = CalendarFeed.objects.get(instructor=coach)
    old = feed_path(feed)

    response = staff_client.post(
        reverse("admin:bookings_calendarfeed_changelist"), {"action": "reissue", "_selected_action": [feed.pk]}
    )

    assert response.status_code == 302
    assert client.get(old).status_code == 404


def test_another_brands_staff_cannot_see_or_issue_the_feed(other_brand, coach, staff_client):
    staff_client.post(issue_url(coach))
    stranger = Client()
    stranger.force_login(staff_user_create(username="bob", password="pw", brands=[other_brand]))
    before = CalendarFeed.objects.get(instructor=coach).token

    assert stranger.get(issue_url(coach)).status_code == 404
    assert stranger.post(issue_url(coach)).status_code == 404
    listed = stranger.get(reverse("admin:bookings_calendarfeed_changelist")).context["cl"].result_list
    assert list(listed) == []
    assert CalendarFeed.objects.get(instructor=coach).token == before
