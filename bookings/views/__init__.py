"""Student pages: server-rendered, no login.

* ``browse``: the brand page (``/<brand>/``) and an instructor's page
  (``/<brand>/<instructor>/``): who teaches what.
* ``book``: a session type's slot calendar and booking form
  (``/<brand>/<instructor>/<session type>/``).
* ``manage``: the booking page behind its signed link (``/booking/<uid>/``):
  status, times, ``.ics``, reschedule and cancel.

Every write goes through ``bookings.services`` with the ``STUDENT`` actor,
like a ``public`` API key: same validation, same events, same notifications.
A service's refusal is shown on the page with its own message.
"""
