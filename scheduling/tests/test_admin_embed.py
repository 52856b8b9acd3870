"""The admin's copy-paste embed snippets: one per brand, one per instructor and brand."""

from __future__ import annotations

import html

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from scheduling.embedding import embed_snippet, frame_ancestors
from scheduling.services import staff_user_create
from scheduling.tests.factories import AssignmentFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def superuser_client() -> Client:
    client = Client()
    client.force_login(User.objects.create_superuser("root", "root@example.com", "pw"))
    return client


def test_the_brand_page_shows_its_iframe_snippet(superuser_client, brand):
    brand.embed_origins = ["https://www.acme.example"]
    brand.save()
    page = superuser_client.get(reverse("admin:scheduling_brand_change", args=[brand.pk])).content.decode()
    box = page.split('aria-label="Embed snippet: Book a session with Acme Coaching">', 1)[1]
    snippet = html.unescape(box.split("</textarea>")[0])
    assert snippet.startswith('<iframe src="http://testserver/acme/" title="Book a session with Acme Coaching"')
    assert "Shows on: https://www.acme.example." in page


def test_a_brand_without_origins_is_told_the_snippet_will_be_refused(superuser_client, brand):
    page = superuser_client.get(reverse("admin:scheduling_brand_change", args=[brand.pk])).content.decode()
    assert "No site is listed in embed origins yet" in page


def test_the_instructor_page_shows_one_snippet_per_brand_the_user_sees(brand, other_brand):
    assignment = AssignmentFactory(brand=brand, instructor__slug="clara", instructor__name="Clara")
    AssignmentFactory(brand=other_brand, instructor=assignment.instructor)
    staff = Client()
    staff.force_login(staff_user_create(username="alice", password="pw", brands=[brand]))
    page = staff.get(reverse("admin:scheduling_instructor_change", args=[assignment.instructor.pk])).content.decode()
    assert "http://testserver/acme/clara/" in html.unescape(page)
    assert "globex" not in page and "Globex" not in page  # another tenant is never named


def test_the_brand_change_form_still_saves_with_the_snippet_shown(superuser_client, brand):
    url = reverse("admin:scheduling_brand_change", args=[brand.pk])
    response = superuser_client.post(
        url,
        {
            "name": "Acme Coaching",
            "slug": "acme",
            "embed_origins": '["https://www.acme.example"]',
            "assignments-TOTAL_FORMS": "0",
            "assignments-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    brand.refresh_from_db()
    assert brand.embed_origins == ["https://www.acme.example"]


def test_the_snippet_escapes_what_it_embeds():
    snippet = embed_snippet(url="https://x.example/a/", title='Studio "Quotes" <b>')
    assert 'title="Studio &quot;Quotes&quot; &lt;b&gt;"' in snippet


def test_frame_ancestors_without_origins_is_none():
    assert frame_ancestors([]) == "'none'"
    assert frame_ancestors(["https://a.example", "https://a.example"]) == "'self' https://a.example"
