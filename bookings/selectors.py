"""Reads for bookings."""

from __future__ import annotations

import datetime as dt

from django.db import connections
from django.db.models import FloatField, Func

from scheduling.models import InstructorBrand

from .models import ACTIVE_STATUSES, Booking

DEFAULT_CUTOFF_HOURS = InstructorBrand._meta.get_field("cancellation_cutoff_hours").default


class EpochSeconds(Func):
    """Seconds since 1970-01-01 UTC of a timestamp column, as a float, exact to the microsecond.

    Why not read the datetimes: for each ``timestamptz`` value Django's psycopg
    loader parses the text in Python and attaches the timezone, about 8 µs a
    value; 2,000 bookings made that two thirds of an availability request
    (docs/performance.md). A double is read by psycopg's C loader, and
    ``datetime.fromtimestamp`` turns it back into the same instant in well
    under a microsecond (a double holds today's timestamps to 0.24 µs, so
    rounding to the microsecond gives back the stored value exactly).
    """

    output_field = FloatField()

    def as_postgresql(self, compiler, connection, **extra_context):
        return self.as_sql(
            compiler, connection, template="EXTRACT(EPOCH FROM %(expressions)s)::double precision", **extra_context
        )

    def as_sqlite(self, compiler, connection, **extra_context):
        # Django stores "YYYY-MM-DD HH:MM:SS[.ffffff]" (UTC). SQLite's date functions keep milliseconds only,
        # so the whole seconds come from julianday() of the first 19 characters and the fraction from the rest.
        template = (
            "(ROUND((julianday(substr(%(expressions)s, 1, 19)) - 2440587.5) * 86400.0)"
            " + COALESCE(CAST(substr(%(expressions)s, 20) AS REAL), 0.0))"
        )
        return self.as_sql(compiler, connection, template=template, **extra_context)


def _utc(seconds: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, dt.UTC)


def busy_intervals(
    *, instructor_id: int, start: dt.datetime, end: dt.datetime, exclude_booking_id: int | None = None
) -> list[tuple[dt.datetime, dt.datetime]]:
    """``(start_at, end_at)`` of the instructor's active bookings overlapping ``[start, end)``, in UTC.

    Every brand counts: an instructor is one person, so a booking made through
    another brand makes the time busy here too. ``exclude_booking_id`` leaves
    out the booking being rescheduled. One query, plain tuples, sorted; the
    times travel as epoch seconds (:class:`EpochSeconds`), the fast way to read
    thousands of them.
    """
    bookings = Booking.objects.filter(
        instructor_id=instructor_id, status__in=ACTIVE_STATUSES, start_at__lt=end, end_at__gt=start
    )
    if exclude_booking_id is not None:
        bookings = bookings.exclude(pk=exclude_booking_id)
    rows = bookings.order_by("start_at").values_list(EpochSeconds("start_at"), EpochSeconds("end_at"))
    # The ORM writes the SQL; the rows are read straight from the cursor, without the ORM's per-value
    # converter calls (the database already answers floats).
    sql, params = rows.query.sql_with_params()
    with connections[rows.db].cursor() as cursor:
        cursor.execute(sql, params)
        return [(_utc(start_seconds), _utc(end_seconds)) for start_seconds, end_seconds in cursor.fetchall()]


def student_change_deadline(*, booking: Booking, assignment: InstructorBrand | None = None) -> dt.datetime:
    """Until when the student may cancel or reschedule ``booking``: its start minus the cutoff hours.

    The cutoff is the assignment's (instructor x brand) setting; an instructor
    removed from the brand keeps the default for the bookings left behind. The
    booking services refuse a student's change from this instant on, and the
    booking page announces the same instant, so the two never disagree.
    """
    if assignment is None:
        assignment = InstructorBrand.objects.filter(
            instructor_id=booking.instructor_id, brand_id=booking.brand_id
        ).first()
    hours = assignment.cancellation_cutoff_hours if assignment else DEFAULT_CUTOFF_HOURS
    return booking.start_at - dt.timedelta(hours=hours)


def active_booking_starts(
    *, instructor_id: int, brand_id: int, start: dt.datetime, end: dt.datetime, exclude_booking_id: int | None = None
) -> list[dt.datetime]:
    """Start times of the instructor's active bookings in one brand starting in ``[start, end)``.

    What the booking limits count: unlike busy time, a limit is per brand (an
    instructor may take five sessions a day for one studio and three for
    another). ``exclude_booking_id`` leaves out the booking being rescheduled.
    One query, plain values.
    """
    bookings = Booking.objects.filter(
        instructor_id=instructor_id,
        brand_id=brand_id,
        status__in=ACTIVE_STATUSES,
        start_at__gte=start,
        start_at__lt=end,
    )
    if exclude_booking_id is not None:
        bookings = bookings.exclude(pk=exclude_booking_id)
    return list(bookings.values_list("start_at", flat=True))


def instructor_calendar_bookings(*, instructor_id: int, start: dt.datetime, end: dt.datetime) -> list[Booking]:
    """The instructor's bookings in every brand that overlap ``[start, end)``, any status, by start.

    One query (session type and brand joined). Cancelled ones are included on
    purpose: the calendar feed leaves them out of its events but dates its
    ``Last-Modified`` by them, since removing an event is a change too.
    """
    return list(
        Booking.objects.filter(instructor_id=instructor_id, start_at__lt=end, end_at__gt=start)
        .select_related("event_type", "brand")
        .order_by("start_at", "id")
    )
