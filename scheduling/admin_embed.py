"""The copy-paste embed snippets shown in the admin, per brand and per instructor.

Kept apart from ``scheduling/admin.py`` so the admins only name the read-only
fields: ``BrandAdmin`` shows ``embed_snippet`` (the brand page), and
``InstructorAdmin`` shows ``embed_snippets`` (the instructor's page in each of
their brands the user may see).
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from .embedding import allowed_origins, embed_snippet
from .models import Brand, Instructor


def _snippet_box(*, url: str, title: str, brand: Brand) -> SafeString:
    """The snippet in a read-only text box, with what the brand's embed origins allow."""
    snippet = embed_snippet(url=url, title=title)
    origins = allowed_origins(brand.embed_origins)
    if origins:
        where = format_html("Shows on: {}.", ", ".join(origins))
    else:
        where = mark_safe(  # noqa: S308 - a constant
            "<strong>No site is listed in embed origins yet</strong>: browsers refuse to show the page "
            "in a frame until the site's origin (e.g. https://www.example.com) is added."
        )
    return format_html(
        '<textarea readonly rows="3" cols="90" aria-label="{}">{}</textarea><div class="help">{}</div>',
        f"Embed snippet: {title}",
        snippet,
        where,
    )


class BrandEmbedSnippet:
    @admin.display(description="embed snippet")
    def embed_snippet(self, brand: Brand) -> str:
        if brand.pk is None:
            return "Save the brand first."
        url = settings.SITE_URL + reverse("brand-page", kwargs={"brand_slug": brand.slug})
        return _snippet_box(url=url, title=f"Book a session with {brand.name}", brand=brand)


class InstructorEmbedSnippets:
    @admin.display(description="embed snippets")
    def embed_snippets(self, instructor: Instructor) -> str:
        # ``InstructorAdmin.get_queryset`` prefetches only the brands the user may see.
        brands = list(instructor.brands.all()) if instructor.pk else []
        if not brands:
            return "Save the instructor with a brand first."
        return format_html_join(
            "",
            "<p><strong>{}</strong></p>{}",
            (
                (
                    brand.name,
                    _snippet_box(
                        url=settings.SITE_URL
                        + reverse(
                            "instructor-page", kwargs={"brand_slug": brand.slug, "instructor_slug": instructor.slug}
                        ),
                        title=f"Book a session with {instructor.name} ({brand.name})",
                        brand=brand,
                    ),
                )
                for brand in brands
            ),
        )
