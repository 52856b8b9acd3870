"""Field validators shared by models, serializers and forms.

Each raises ``ValidationError`` with a message that names what is wrong, so
the same rule gives the same words through the admin, the API and the pages.
"""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Iterable

import phonenumbers
from django.core.exceptions import ValidationError
from django.core.validators import validate_email

REMINDER_CHANNELS = ("email", "sms", "whatsapp")
MIN_REMINDER_MINUTES = 1
MAX_REMINDER_MINUTES = 43200
MIN_SESSION_MINUTES = 5
MAX_SESSION_MINUTES = 720
# A booking limit above these could never be reached: that many of the shortest sessions fill the day (week).
MAX_BOOKINGS_PER_DAY = 24 * 60 // MIN_SESSION_MINUTES
MAX_BOOKINGS_PER_WEEK = 7 * MAX_BOOKINGS_PER_DAY
# A weekly series: how many occurrences one request may book, and how many weeks apart.
MIN_SERIES_OCCURRENCES = 2
MAX_SERIES_OCCURRENCES = 26
MAX_SERIES_INTERVAL_WEEKS = 4


def validate_timezone_name(value: str) -> None:
    """Accept IANA names only (``Europe/Berlin``), never offsets or abbreviations."""
    if not value or value not in available_timezones():
        raise ValidationError(f"Unknown timezone '{value}'. Use an IANA name such as 'Europe/Berlin'.")


_TIMEZONES: frozenset[str] | None = None


def available_timezones() -> frozenset[str]:
    global _TIMEZONES
    if _TIMEZONES is None:
        _TIMEZONES = frozenset(zoneinfo.available_timezones())
    return _TIMEZONES


PHONE_FORMAT_HINT = "Give the number in international format with its country code, e.g. +4915112345678."


def normalise_phone(value: str) -> str:
    """A phone number in E.164 (``+4915112345678``), or ``""`` for none.

    Spaces, dashes, brackets and a leading ``00`` are accepted; a number
    without a country code, or one ``phonenumbers`` does not find valid, is
    refused with a message saying what to send.
    """
    value = (value or "").strip()
    if not value:
        return ""
    candidate = "+" + value[2:] if value.startswith("00") else value
    if not candidate.startswith("+"):
        raise ValidationError(PHONE_FORMAT_HINT)
    try:
        number = phonenumbers.parse(candidate, None)
    except phonenumbers.NumberParseException:
        raise ValidationError(PHONE_FORMAT_HINT) from None
    if not phonenumbers.is_valid_number(number):
        raise ValidationError(f"'{value}' is not a valid phone number.")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


# Top-level paths of the site: a brand page at /<slug>/ must never shadow them.
RESERVED_BRAND_SLUGS = frozenset(
    {"admin", "api", "booking", "bookings", "static", "media", "feeds", "calendar", "health", "embed", "www"}
)


def validate_brand_slug(value: str) -> None:
    if value in RESERVED_BRAND_SLUGS:
        raise ValidationError(f"'{value}' is reserved for the site itself; choose another slug.")


def validate_embed_origins(value) -> None:
    """A list of web origins (``https://www.example.com``, optionally with a port), nothing else.

    They go into a ``Content-Security-Policy: frame-ancestors`` header, so a
    path, a wildcard or a stray character must never get through.
    """
    if not isinstance(value, list | tuple):
        raise ValidationError("Must be a list of origins such as https://www.example.com.")
    for origin in value:
        if not isinstance(origin, str) or not _ORIGIN.fullmatch(origin):
            raise ValidationError(
                f"'{origin}' is not an origin: give scheme and host only, e.g. https://www.example.com."
            )


_ORIGIN = re.compile(
    r"https?://(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?::\d{1,5})?"
)


def validate_notification_emails(value: Iterable[str]) -> None:
    if not isinstance(value, list | tuple):
        raise ValidationError("Must be a list of email addresses.")
    for address in value:
        if not isinstance(address, str):
            raise ValidationError(f"'{address}' is not an email address.")
        try:
            validate_email(address)
        except ValidationError:
            raise ValidationError(f"'{address}' is not a valid email address.") from None
    if len({a.lower() for a in value}) != len(value):
        raise ValidationError("The same email address appears twice.")


def validate_reminder_minutes(value: Iterable[int]) -> None:
    if not isinstance(value, list | tuple):
        raise ValidationError("Must be a list of minutes, e.g. [1440, 60].")
    for minutes in value:
        if isinstance(minutes, bool) or not isinstance(minutes, int):
            raise ValidationError(f"'{minutes}' is not a whole number of minutes.")
        if not MIN_REMINDER_MINUTES <= minutes <= MAX_REMINDER_MINUTES:
            raise ValidationError(
                f"{minutes} is out of range: each reminder is {MIN_REMINDER_MINUTES}.."
                f"{MAX_REMINDER_MINUTES} minutes before the session."
            )
    if len(set(value)) != len(value):
        raise ValidationError("The same reminder offset appears twice.")


def validate_reminder_channels(value: Iterable[str]) -> None:
    if not isinstance(value, list | tuple):
        raise ValidationError("Must be a list of channels.")
    for channel in value:
        if channel not in REMINDER_CHANNELS:
            raise ValidationError(f"Unknown reminder channel '{channel}'. Choose from {', '.join(REMINDER_CHANNELS)}.")
    if len(set(value)) != len(value):
        raise ValidationError("The same channel appears twice.")


def ranges_overlap_error(ranges: list[tuple]) -> str | None:
    """Return a message if any (start, end) range is empty or overlaps another, else None."""
    for start, end in ranges:
        if start >= end:
            return f"Range {start:%H:%M}-{end:%H:%M} must start before it ends."
    ordered = sorted(ranges)
    for (_, previous_end), (next_start, next_end) in zip(ordered, ordered[1:], strict=False):
        if next_start < previous_end:
            return f"Range {next_start:%H:%M}-{next_end:%H:%M} overlaps another range of the same day."
    return None


# ISO 4217 active currency codes.
CURRENCY_CODES = frozenset(
    """
    AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN BWP BYN
    BZD CAD CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS
    GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW
    KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD
    NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD
    SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD UYU UZS VES
    VND VUV WST XAF XCD XCG XOF XPF YER ZAR ZMW ZWG
    """.split()  # noqa: SIM905
)


def validate_currency(value: str) -> None:
    if value not in CURRENCY_CODES:
        raise ValidationError(f"Unknown currency '{value}'. Use an ISO 4217 code such as EUR or USD.")
