"""How a brand's student pages sit inside the brand's own web site (an iframe).

``Brand.embed_origins`` lists the sites allowed to frame the pages. From it
come the ``Content-Security-Policy: frame-ancestors`` value the pages send
(:func:`frame_ancestors`) and the snippet staff copy from the admin
(:func:`embed_snippet`). It lives with the brand, in ``scheduling``, so the
admin here and the pages in ``bookings`` share it without ``scheduling``
importing ``bookings``.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.utils.html import format_html
from django.utils.safestring import SafeString

from .validators import validate_embed_origins

IFRAME_HEIGHT = 800


def allowed_origins(origins: Iterable[str]) -> list[str]:
    """The brand's origins that are well-formed, each once.

    The model validates them on every save through a form or a service; this
    checks again because the value goes into a response header, where a row
    written some other way must never inject anything.
    """
    allowed: list[str] = []
    for origin in origins or ():
        try:
            validate_embed_origins([origin])
        except ValidationError:
            continue
        if origin not in allowed:
            allowed.append(origin)
    return allowed


def frame_ancestors(origins: Iterable[str]) -> str:
    """The ``frame-ancestors`` source list: ``'none'`` without origins, else ``'self'`` plus them."""
    allowed = allowed_origins(origins)
    return " ".join(["'self'", *allowed]) if allowed else "'none'"


def embed_snippet(*, url: str, title: str) -> SafeString:
    """The ``<iframe>`` a brand pastes into its site; ``title`` names the frame for screen readers."""
    return format_html(
        '<iframe src="{}" title="{}" width="100%" height="{}" style="border:0" loading="lazy"></iframe>',
        url,
        title,
        IFRAME_HEIGHT,
    )
