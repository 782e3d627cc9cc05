"""Calendar arithmetic in UTC: hour buckets, billing months (a cycle starts on the 1st), query periods and dates.

Pure functions of their arguments: "now" always comes from the runtime's clock, so month boundaries are testable.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from hokusai_auth import times
from hokusai_auth.errors import invalid_field

MAX_RANGE_DAYS = 366
ONE_DAY = timedelta(days=1)
DEFAULT_RANGE_DAYS = 30


def hour_of(at: datetime) -> datetime:
    """The start of the UTC hour ``at`` falls in: the time bucket a usage record is counted in."""
    return at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def month_start(at: datetime) -> datetime:
    return at.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def next_month(start: datetime) -> datetime:
    """The first moment of the month after the one ``start`` is in."""
    first = month_start(start)
    return first.replace(year=first.year + 1, month=1) if first.month == 12 else first.replace(month=first.month + 1)


def period_name(start: datetime) -> str:
    return f"{start.year:04d}-{start.month:02d}"


def parse_period(value: str | None, now: datetime) -> datetime:
    """The first moment of the month ``YYYY-MM`` names (default: the month of ``now``)."""
    if value is None:
        return month_start(now)
    try:
        return times.parse_month(value)  # bounded, so next_month() of it cannot overflow
    except ValueError as exc:
        raise invalid_field("period", str(exc), "query") from None


def _parse_date(name: str, value: str) -> date:
    try:
        return times.parse_date(value)  # bounded, so the day after it cannot overflow
    except ValueError as exc:
        raise invalid_field(name, str(exc), "query") from None


def date_range(start: str | None, end: str | None, today: date) -> tuple[date, date]:
    """An inclusive range of UTC dates; by default the ``DEFAULT_RANGE_DAYS`` days ending today."""
    last = _parse_date("end_date", end) if end is not None else today
    first = _parse_date("start_date", start) if start is not None else times.add_days(last, 1 - DEFAULT_RANGE_DAYS)
    if first > last:
        raise invalid_field("start_date", "must not be after end_date", "query")
    days = (last - first).days + 1
    if days > MAX_RANGE_DAYS:
        raise invalid_field("end_date", f"the range covers {days} days; at most {MAX_RANGE_DAYS} are allowed", "query")
    return first, last


def day_start(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)
