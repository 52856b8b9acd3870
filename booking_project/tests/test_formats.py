"""The wire time formats: ``IsoText`` writes exactly what ``isoformat`` and ``utc_iso`` write."""

from __future__ import annotations

import datetime as dt
import random
import zoneinfo

import pytest

from booking_project.formats import IsoText, utc_iso
from scheduling.slots import epoch_micros, from_epoch_micros

ZONES = ["UTC", "Europe/Berlin", "America/Santiago", "Australia/Lord_Howe", "Asia/Kathmandu", "America/St_Johns"]


def instants_around_changes(zone: str) -> list[int]:
    """Every 7 minutes (and some odd microseconds) through two days around each 2026 offset change of ``zone``."""
    tz = zoneinfo.ZoneInfo(zone)
    hour = dt.timedelta(hours=1)
    instants = []
    moment = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    while moment < dt.datetime(2027, 1, 1, tzinfo=dt.UTC):
        if (moment + hour).astimezone(tz).utcoffset() != moment.astimezone(tz).utcoffset():
            first = epoch_micros(moment - dt.timedelta(days=1))
            instants += [first + step * 420_000_000 + step % 3 * 123_457 for step in range(2 * 24 * 60 // 7)]
        moment += hour
    return instants


@pytest.mark.parametrize("zone", ZONES)
def test_the_text_is_isoformat_to_the_second_across_dst_changes(zone):
    tz = zoneinfo.ZoneInfo(zone)
    rng = random.Random(zone)
    instants = instants_around_changes(zone) + [rng.randrange(0, 4_000_000_000_000_000) for _ in range(500)]

    assert IsoText(tz).texts(instants) == [
        from_epoch_micros(micros).astimezone(tz).isoformat(timespec="seconds") for micros in instants
    ]


def test_zulu_text_is_utc_iso_and_the_order_of_instants_does_not_matter():
    rng = random.Random(1)
    instants = [rng.randrange(0, 4_000_000_000_000_000) for _ in range(500)]
    instants += sorted(instants)

    assert IsoText(dt.UTC, zulu=True).texts(instants) == [utc_iso(from_epoch_micros(micros)) for micros in instants]
    assert IsoText(zoneinfo.ZoneInfo("UTC"), zulu=True).texts(instants[:3]) == [
        utc_iso(from_epoch_micros(micros)) for micros in instants[:3]
    ]


def test_zulu_writes_z_only_for_an_offset_of_zero():
    london = zoneinfo.ZoneInfo("Europe/London")
    winter, summer = dt.datetime(2026, 1, 5, 9, tzinfo=london), dt.datetime(2026, 7, 5, 9, tzinfo=london)

    assert IsoText(london, zulu=True).texts([epoch_micros(winter), epoch_micros(summer)]) == [
        "2026-01-05T09:00:00Z",
        "2026-07-05T09:00:00+01:00",
    ]
