"""Reads for bookings."""

from __future__ import annotations

import datetime as dt

from django.db import connections
from django.db.models import BigIntegerField, Func

from scheduling.models import InstructorBrand

from .models import ACTIVE_STATUSES, Booking

DEFAULT_CUTOFF_HOURS = InstructorBrand._meta.get_field("cancellation_cutoff_hours").default


class EpochMicroseconds(Func):
    """Microseconds since 1970-01-01 UTC of a timestamp column, as an integer: exact, and cheap to read.

    Why not read the datetimes: for each ``timestamptz`` value Django's psycopg
    loader parses the text in Python and attaches the timezone, about 8 µs a
    value; 2,000 bookings made that two thirds of an availability request
    (docs/performance.md). A ``bigint`` is read by psycopg's C loader, and the
    slot engine computes in exactly these integers (``scheduling.slots.epoch_micros``).
    """

    output_field = BigIntegerField()

    def as_postgresql(self, compiler, connection, **extra_context):
        return self.as_sql(
            compiler, connection, template="(EXTRACT(EPOCH FROM %(expressions)s) * 1000000)::bigint", **extra_context
        )

    def as_sqlite(self, compiler, connection, **extra_context):
        # Django stores "YYYY-MM-DD HH:MM:SS[.ffffff]" (UTC). SQLite's date functions keep milliseconds only,
        # so the whole seconds come from julianday() of the first 19 characters and the microseconds from the rest.
        template = (
            "(CAST(ROUND((julianday(substr(%(expressions)s, 1, 19)) - 2440587.5) * 86400.0) AS INTEGER) * 1000000"
            " + COALESCE(CAST(substr(%(expressions)s, 21) AS INTEGER), 0))"
        )
        return self.as_sql(compiler, connection, template=template, **extra_context)


# PostgreSQL merges the bookings' ranges itself (``range_agg``: overlapping and touching ones become one), so an
# evening of back-to-back sessions travels as one row. The bookings' query between the two parts is the ORM's.
MERGED_RANGES_SQL = (
    "SELECT (EXTRACT(EPOCH FROM lower(busy)) * 1000000)::bigint, (EXTRACT(EPOCH FROM upper(busy)) * 1000000)::bigint"
    " FROM (SELECT unnest(range_agg(tstzrange(bookings.start_at, bookings.end_at))) AS busy FROM (",
    ") AS bookings) AS merged ORDER BY lower(busy)",
)


def merge_touching(intervals: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sorted ``(start, end)`` intervals with the overlapping and touching ones merged: what ``range_agg`` does."""
    merged: list[tuple[int, int]] = []
    for start, end in intervals:
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def busy_intervals(
    *, instructor_id: int, start: dt.datetime, end: dt.datetime, exclude_booking_id: int | None = None
) -> list[tuple[int, int]]:
    """When the instructor is busy within reach of ``[start, end)``: ``(start, end)`` in epoch microseconds, sorted.

    The time of the instructor's active bookings overlapping the window, in
    every brand: an instructor is one person, so a booking made through
    another brand makes the time busy here too. ``exclude_booking_id`` leaves
    out the booking being rescheduled. Bookings that overlap or touch come
    merged into one interval (the same busy time, fewer rows: on PostgreSQL
    the database merges them, elsewhere this function does). One query; the
    times are the integers the slot engine computes in (:class:`EpochMicroseconds`,
    ``scheduling.slots.from_epoch_micros`` turns one back into a datetime).
    """
    bookings = Booking.objects.filter(
        instructor_id=instructor_id, status__in=ACTIVE_STATUSES, start_at__lt=end, end_at__gt=start
    )
    if exclude_booking_id is not None:
        bookings = bookings.exclude(pk=exclude_booking_id)
    connection = connections[bookings.db]
    if connection.vendor == "postgresql":
        sql, params = bookings.order_by().values_list("start_at", "end_at").query.sql_with_params()
        before, after = MERGED_RANGES_SQL
        sql = before + sql + after
    else:
        rows = bookings.order_by("start_at").values_list(EpochMicroseconds("start_at"), EpochMicroseconds("end_at"))
        sql, params = rows.query.sql_with_params()
    # The rows are read straight from the cursor, without the ORM's per-value converter calls.
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return rows if connection.vendor == "postgresql" else merge_touching(rows)


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
