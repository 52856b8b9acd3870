"""Writes for tenancy and scheduling. Every door (API, admin, commands) calls these."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from django.contrib.auth.models import Group, Permission, User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import ProtectedError, Q, QuerySet
from django.utils import timezone as django_timezone
from django.utils.text import slugify

from booking_project.refusals import Refusal

from .models import ApiKey, Brand, DateOverride, EventType, Instructor, InstructorBrand, WeeklyAvailability
from .validators import ranges_overlap_error

# The per-brand scheduling settings of an assignment. The one list: the admin,
# the API serializers and ``availability_replace`` import it.
ASSIGNMENT_SETTINGS = (
    "timezone",
    "buffer_minutes",
    "advance_booking_days",
    "cancellation_cutoff_hours",
    "minimum_notice_minutes",
    "max_bookings_per_day",
    "max_bookings_per_week",
)

# An instructor's identity: one ``Instructor`` row shared by every brand that
# employs them, unlike the per-brand ``ASSIGNMENT_SETTINGS``.
INSTRUCTOR_IDENTITY_FIELDS = ("name", "email", "phone", "slug", "bio")


class InstructorShared(Refusal):
    """A brand tried to change the identity of an instructor who also works for other brands.

    The identity belongs to every brand that employs the instructor, so no
    single brand may rewrite it (another brand's host emails would go to an
    address it never chose).
    """

    code = "instructor_shared"


def _unique_slug(model, base: str, **scope: Any) -> str:
    base = slugify(base)[:90] or "item"
    slug, counter = base, 2
    while model.objects.filter(slug=slug, **scope).exists():
        slug, counter = f"{base}-{counter}", counter + 1
    return slug


@transaction.atomic
def brand_get_or_create(*, slug: str, name: str | None = None) -> tuple[Brand, bool]:
    brand = Brand.objects.filter(slug=slug).first()
    if brand is not None:
        return brand, False
    return brand_create(slug=slug, name=name or slug.replace("-", " ").title()), True


@transaction.atomic
def brand_create(*, slug: str, name: str, staff: Iterable[Any] | None = None, **fields: Any) -> Brand:
    """A new brand, validated by the model (reserved slugs, embed origins); ``staff`` are the users who run it."""
    brand = Brand(slug=slug, name=name, **fields)
    brand.full_clean()
    brand.save()
    if staff is not None:
        brand.staff.set(staff)
    return brand


@transaction.atomic
def brand_update(*, brand: Brand, staff: Iterable[Any] | None = None, **fields: Any) -> Brand:
    """Change a brand's name, sender identity or embed origins; ``staff`` (if given) replaces its staff."""
    for name, value in fields.items():
        setattr(brand, name, value)
    brand.full_clean()
    brand.save()
    if staff is not None:
        brand.staff.set(staff)
    return brand


def api_key_create(
    *, brand: Brand, scope: str = ApiKey.Scope.SECRET, name: str = "", expiry_date: dt.datetime | None = None
) -> tuple[ApiKey, str]:
    """Create a key and return it with its clear text, which is never stored and shown only now."""
    if scope not in ApiKey.Scope.values:
        raise ValidationError({"scope": f"Unknown scope '{scope}'. Choose secret or public."})
    return ApiKey.objects.create_key(
        brand=brand, scope=scope, name=(name or f"{brand.slug} {scope}")[:50], expiry_date=expiry_date
    )


def api_key_update(*, api_key: ApiKey, name: str, expiry_date: dt.datetime | None) -> ApiKey:
    """Rename a key or change its expiry. Its brand and scope stay what it was handed out with."""
    api_key.name = name
    api_key.expiry_date = expiry_date
    api_key.full_clean(exclude=["brand"])
    api_key.save(update_fields=["name", "expiry_date"])
    return api_key


def api_key_revoke(*, api_key: ApiKey) -> None:
    ApiKey.objects.filter(pk=api_key.pk).update(revoked=True)


API_KEY_USE_PRECISION = dt.timedelta(minutes=1)


def api_key_record_use(*, api_key: ApiKey, now: dt.datetime | None = None) -> bool:
    """Stamp ``last_used_at``, at most once a minute per key; True if this call wrote it.

    Staff see when a key was last used (is it still in use? safe to revoke?),
    which needs no more than minute precision, so a busy key costs one small
    ``UPDATE`` a minute, not one per request. The update is conditional, so of
    several processes racing in the same minute one writes. Nothing is written
    when the key already carries a stamp from the last minute, which the
    caller loaded with the key anyway.
    """
    now = now or django_timezone.now()
    stale_before = now - API_KEY_USE_PRECISION
    if api_key.last_used_at is not None and api_key.last_used_at > stale_before:
        return False
    written = (
        ApiKey.objects.filter(pk=api_key.pk)
        .filter(Q(last_used_at__isnull=True) | Q(last_used_at__lte=stale_before))
        .update(last_used_at=now)
    )
    api_key.last_used_at = now
    return written == 1


@transaction.atomic
def instructor_create(
    *,
    brand: Brand | None,
    name: str,
    email: str,
    phone: str = "",
    slug: str = "",
    bio: str = "",
    timezone: str = "UTC",
) -> Instructor:
    """Create an instructor, assigned to ``brand`` (default scheduling settings, ``timezone``).

    ``brand`` is None only for the admin's add page, which assigns the new
    instructor through its assignment rows right after (``instructor_assign``).
    """
    instructor = Instructor(name=name, email=email, phone=phone, bio=bio, slug=slug or _unique_slug(Instructor, name))
    instructor.full_clean()
    instructor.save()
    if brand is not None:
        instructor_assign(instructor=instructor, brand=brand, timezone=timezone)
    return instructor


def instructor_works_elsewhere(*, instructor: Instructor, brands: Iterable[Brand] | QuerySet[Brand]) -> bool:
    """True if the instructor is assigned to any brand outside ``brands``."""
    return instructor.assignments.exclude(brand__in=brands).exists()


@transaction.atomic
def instructor_update(*, instructor: Instructor, brand: Brand, **fields: Any) -> Instructor:
    """Change an instructor on behalf of ``brand``.

    ``timezone`` is ``brand``'s assignment setting. The identity fields
    (``INSTRUCTOR_IDENTITY_FIELDS``) are shared by every brand the instructor
    works for, so they may only change while ``brand`` is the only one; an
    actual change otherwise raises :class:`InstructorShared` before anything is
    written (sending the current value again is not a change).
    """
    timezone = fields.pop("timezone", None)
    instructor_identity_update(instructor=instructor, brands=[brand], **fields)
    if timezone is not None:
        assignment = InstructorBrand.objects.get(instructor=instructor, brand=brand)
        assignment.timezone = timezone
        assignment.full_clean()
        assignment.save(update_fields=["timezone", "updated_at"])
    return instructor


@transaction.atomic
def instructor_identity_update(
    *, instructor: Instructor, brands: Iterable[Brand] | QuerySet[Brand] | None, **fields: Any
) -> Instructor:
    """Change an instructor's name, email, phone, slug or bio on behalf of ``brands``.

    ``brands`` are the brands the caller runs (an API key's one brand, a staff
    user's brands); ``None`` is an administrator acting for every brand. An
    instructor who also works for a brand outside ``brands`` keeps their
    identity: an actual change raises :class:`InstructorShared` and writes
    nothing. Only the fields given are written.
    """
    unknown = set(fields) - set(INSTRUCTOR_IDENTITY_FIELDS)
    if unknown:
        raise TypeError(f"Not identity fields: {', '.join(sorted(unknown))}")
    changed_identity = [
        name for name in INSTRUCTOR_IDENTITY_FIELDS if name in fields and fields[name] != getattr(instructor, name)
    ]
    if changed_identity and brands is not None and instructor_works_elsewhere(instructor=instructor, brands=brands):
        raise InstructorShared(
            "This instructor also works for other brands: their name, email, phone, slug and bio are shared "
            f"and cannot be changed by one brand (refused: {', '.join(changed_identity)}). "
            "Per-brand settings such as timezone can still be changed."
        )
    if fields:
        for name, value in fields.items():
            setattr(instructor, name, value)
        instructor.full_clean()
        instructor.save(update_fields=list(fields))
    return instructor


@transaction.atomic
def instructor_unassign(*, instructor: Instructor, brand: Brand) -> None:
    """Remove the instructor from ``brand`` only (its settings, weekly ranges and overrides there).

    The instructor row, its assignments to other brands and all bookings stay.
    """
    InstructorBrand.objects.filter(instructor=instructor, brand=brand).delete()


@transaction.atomic
def instructor_assign(*, instructor: Instructor, brand: Brand, **settings: Any) -> InstructorBrand:
    """Assign an instructor to a brand (idempotent); settings not given take the model defaults."""
    assignment = InstructorBrand.objects.filter(instructor=instructor, brand=brand).first()
    if assignment is None:
        assignment = InstructorBrand(instructor=instructor, brand=brand, **settings)
        assignment.full_clean()
        assignment.save()
    return assignment


def _parse_time(value: Any, field: str) -> dt.time:
    """A local wall time; an offset makes no sense for a weekly range and is refused."""
    if not isinstance(value, dt.time):
        try:
            value = dt.time.fromisoformat(str(value))
        except ValueError:
            raise ValidationError({field: f"'{value}' is not a time (HH:MM)."}) from None
    if value.tzinfo is not None:
        raise ValidationError({field: "Give a local time without an offset (HH:MM)."})
    return value


OVERRIDE_RANGES_SHAPE = 'Each range is {"start": "HH:MM", "end": "HH:MM"}.'


def override_ranges_clean(ranges: Any, *, field: str = "ranges") -> list[dict[str, str]]:
    """A date override's ranges in their stored shape, ``[{"start": "HH:MM", "end": "HH:MM"}]``.

    Local times without offsets, as for weekly ranges. ``availability_replace``
    and the admin's override inline both store through this, so every door
    stores the same shape (the slot engine reads it back with ``time_ranges``).
    Empty (``None``, ``""``, ``[]``) is no ranges. Errors are keyed by ``field``.
    """
    if ranges is None or ranges == "":
        return []
    if not isinstance(ranges, list | tuple):
        raise ValidationError({field: OVERRIDE_RANGES_SHAPE})
    cleaned = []
    for item in ranges:
        if not isinstance(item, Mapping) or "start" not in item or "end" not in item:
            raise ValidationError({field: OVERRIDE_RANGES_SHAPE})
        cleaned.append(
            {
                "start": _parse_time(item["start"], field).strftime("%H:%M"),
                "end": _parse_time(item["end"], field).strftime("%H:%M"),
            }
        )
    return cleaned


def _weekly_rows(weekly: Iterable[Mapping[str, Any]], refuse) -> list[WeeklyAvailability]:
    """Weekly ranges as unsaved rows; every problem goes to ``refuse(field, message, params)``."""
    rows = []
    by_weekday: dict[int, list[tuple[dt.time, dt.time]]] = {}
    for index, item in enumerate(weekly):
        try:
            start = _parse_time(item["start"], f"weekly[{index}].start")
            end = _parse_time(item["end"], f"weekly[{index}].end")
        except ValidationError as error:
            for field, messages in error.message_dict.items():
                for message in messages:
                    refuse(field, message, {"index": index})
            continue
        weekday = item["weekday"]
        if isinstance(weekday, bool) or not isinstance(weekday, int) or not 0 <= weekday <= 6:
            refuse(f"weekly[{index}].weekday", "Weekday is 0 (Monday) to 6 (Sunday).", {"index": index})
            continue
        by_weekday.setdefault(weekday, []).append((start, end))
        rows.append(WeeklyAvailability(weekday=weekday, start_time=start, end_time=end))
    for weekday, ranges in sorted(by_weekday.items()):
        message = ranges_overlap_error(ranges)
        if message:
            refuse("weekly", f"Weekday {weekday}: {message}", {"weekday": weekday}, "overlap")
    return rows


def _override_rows(overrides: Iterable[Mapping[str, Any]], refuse) -> list[DateOverride]:
    """Date overrides as unsaved rows; every problem goes to ``refuse(field, message, params)``."""
    rows = []
    seen_dates: set[dt.date] = set()
    for index, item in enumerate(overrides):
        date = item["date"]
        if date in seen_dates:
            refuse("overrides", f"{date} appears more than once.", {"index": index, "date": date}, "duplicate_date")
            continue
        seen_dates.add(date)
        try:
            ranges = override_ranges_clean(item.get("ranges"), field=f"overrides[{index}].ranges")
            row = DateOverride(date=date, unavailable=bool(item.get("unavailable")), ranges=ranges)
            row.clean()
        except ValidationError as error:
            refuse("overrides", f"{date}: {' '.join(error.messages)}", {"index": index, "date": date})
            continue
        rows.append(row)
    return rows


def _checked_rows(
    weekly: Iterable[Mapping[str, Any]] | None, overrides: Iterable[Mapping[str, Any]] | None
) -> tuple[list[WeeklyAvailability] | None, list[DateOverride] | None]:
    errors: dict[str, list[ValidationError]] = {}

    def refuse(field: str, message: str, params: dict[str, Any], code: str = "invalid") -> None:
        # ``params`` says which item is wrong, so a form can show the message next to it
        # (``availability_check``); the messages themselves hold no % placeholders.
        errors.setdefault(field, []).append(ValidationError(message, code=code, params=params))

    weekly_rows = None if weekly is None else _weekly_rows(weekly, refuse)
    override_rows = None if overrides is None else _override_rows(overrides, refuse)
    if errors:
        raise ValidationError(errors)
    return weekly_rows, override_rows


def availability_check(
    *, weekly: Iterable[Mapping[str, Any]] | None = None, overrides: Iterable[Mapping[str, Any]] | None = None
) -> None:
    """Raise the ``ValidationError`` that :func:`availability_replace` would raise for these ranges, writing nothing.

    For forms that show each problem next to its input before saving (the
    admin): every error carries ``params`` naming the item it is about,
    ``{"weekday": n}`` for an overlap within a weekday, ``{"index": i}`` (and
    ``"date"``) for one weekly range or override. The rules are the ones
    ``availability_replace`` applies, which runs them again under its lock.
    A date given twice has the code ``duplicate_date``, an overlap ``overlap``.
    """
    _checked_rows(weekly, overrides)


@transaction.atomic
def availability_replace(
    *,
    assignment: InstructorBrand,
    settings: Mapping[str, Any],
    weekly: Iterable[Mapping[str, Any]] | None,
    overrides: Iterable[Mapping[str, Any]] | None,
) -> InstructorBrand:
    """Upsert the scheduling settings and replace weekly ranges and overrides.

    Atomic replace semantics: everything is validated before anything is
    written, and the transaction rolls back on any error, so a bad range
    anywhere leaves the old schedule intact. Every problem is reported at once
    (weekly and overrides), so a client fixes its request in one round.
    ``weekly`` or ``overrides`` given as ``None`` keeps the stored ones (the
    admin's instructor page edits the weekly hours only); an empty list
    removes them all.

    The assignment row is locked and re-read (into ``assignment`` itself)
    before the settings are applied, so two replaces at once run one after the
    other, and settings a request did not send keep the value stored when the
    lock was taken, not the one the caller happened to load earlier. Only the
    settings sent are written. Returns the assignment as stored.
    """
    if assignment.pk:
        assignment.refresh_from_db(from_queryset=InstructorBrand.objects.select_for_update())
    changed_settings = [name for name in ASSIGNMENT_SETTINGS if name in settings]
    for name in changed_settings:
        setattr(assignment, name, settings[name])
    assignment.full_clean(exclude=["instructor", "brand"], validate_unique=False)
    weekly_rows, override_rows = _checked_rows(weekly, overrides)

    if assignment.pk:
        assignment.save(update_fields=[*changed_settings, "updated_at"])
    else:
        assignment.save()
    if weekly_rows is not None:
        assignment.weekly_ranges.all().delete()
        for row in weekly_rows:
            row.assignment = assignment
        WeeklyAvailability.objects.bulk_create(weekly_rows)
    if override_rows is not None:
        assignment.overrides.all().delete()
        for row in override_rows:
            row.assignment = assignment
        DateOverride.objects.bulk_create(override_rows)
    return assignment


def event_type_slug_error(*, brand_id: int | None, slug: str, event_type_id: int | None = None) -> str | None:
    """The message if another event type of the brand already uses ``slug``, else None.

    Public so that forms (the admin) can report it next to the field before
    saving: the model's (brand, slug) constraint would give a model-wide error,
    or none at all where ``brand`` is not a form field (a database error).
    """
    if not slug or brand_id is None:
        return None
    taken = EventType.objects.filter(brand_id=brand_id, slug=slug)
    if event_type_id is not None:
        taken = taken.exclude(pk=event_type_id)
    if taken.exists():
        return f"Another event type of this brand already uses the slug '{slug}'."
    return None


def _check_event_type_slug(event_type: EventType) -> None:
    message = event_type_slug_error(brand_id=event_type.brand_id, slug=event_type.slug, event_type_id=event_type.pk)
    if message:
        raise ValidationError({"slug": message})


@transaction.atomic
def event_type_create(*, brand: Brand, **fields: Any) -> EventType:
    if not fields.get("slug"):
        fields["slug"] = _unique_slug(EventType, fields.get("name", ""), brand=brand)
    event_type = EventType(brand=brand, **fields)
    _check_event_type_slug(event_type)
    event_type.full_clean()
    event_type.save()
    return event_type


@transaction.atomic
def event_type_update(*, event_type: EventType, **fields: Any) -> EventType:
    for name, value in fields.items():
        setattr(event_type, name, value)
    _check_event_type_slug(event_type)
    event_type.full_clean()
    event_type.save()
    return event_type


@transaction.atomic
def event_type_delete(*, event_type: EventType) -> bool:
    """Delete an event type, or deactivate it when bookings refer to it.

    Bookings keep their event type for history (the foreign key protects it),
    so such a type is only switched off: it stops being offered but its
    bookings, reminders and payments stay intact. Returns True if deleted.
    """
    try:
        with transaction.atomic():
            event_type.delete()
    except ProtectedError:
        if event_type.is_active:
            event_type_update(event_type=event_type, is_active=False)
        return False
    return True


@transaction.atomic
def staff_user_create(*, username: str, password: str, brands: Iterable[Brand]):
    """A staff user (not superuser) limited to ``brands`` in the admin; idempotent."""
    user, _ = User.objects.get_or_create(username=username)
    user.is_staff = True
    user.set_password(password)
    user.save()
    group = brand_staff_group()
    user.groups.add(group)
    for brand in brands:
        brand.staff.add(user)
    return user


def brand_staff_group():
    """The group giving brand staff model permissions; row-level scoping is done by the admin."""
    group, _ = Group.objects.get_or_create(name="Brand staff")
    apps = ["scheduling", "bookings", "notifications", "webhooks"]
    group.permissions.set(Permission.objects.filter(content_type__app_label__in=apps))
    return group
