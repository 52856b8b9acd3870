"""A database that cannot answer (connection dropped, server restarting) is a 503, not a 500.

Such a request changed nothing: the transaction it was in is rolled back
with the connection, and Django opens a new connection for the next
request (``CONN_MAX_AGE`` or not, a connection that raised is checked and
dropped when the request ends). So the honest answer is "try again in a
moment": ``503`` with ``Retry-After``, as JSON ``{"detail", "code":
"service_unavailable"}`` for the API (its exception handler,
``booking_project.api.errors``) and as a plain page everywhere else
(:class:`DatabaseOutageMiddleware`). Both log the error.
"""

from __future__ import annotations

import logging

from django.db import InterfaceError, OperationalError
from django.http import HttpResponse
from django.template.loader import render_to_string

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5
DETAIL = "The service is briefly unavailable. Nothing was changed; please try again in a moment."
CODE = "service_unavailable"


def is_database_outage(error: BaseException) -> bool:
    """The database could not answer: a lost or refused connection, a server shutting down.

    Deadlocks and serialisation failures are ``OperationalError`` too, but the
    booking services turn those into a business refusal before they get here.
    """
    return isinstance(error, OperationalError | InterfaceError)


def log_outage(request, error: BaseException) -> None:
    logger.error("Database unavailable during %s %s: %s", request.method, request.path, error, exc_info=error)


def outage_payload() -> dict[str, str]:
    return {"detail": DETAIL, "code": CODE}


class DatabaseOutageMiddleware:
    """Answers a page's database outage with a plain 503 page.

    API views answer through the API's exception handler, which catches the
    outage first; this covers the booking pages, the landing page and the
    admin. The page is rendered without a request context, so it needs no
    database.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not is_database_outage(exception):
            return None
        log_outage(request, exception)
        response = HttpResponse(render_to_string("503.html"), status=503, content_type="text/html; charset=utf-8")
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
