"""The times this service accepts, and arithmetic on times that cannot overflow.

Every time that enters from outside (a request field, a query parameter, a cursor) is checked here when it is
parsed: it must carry a time zone and lie in ``[EARLIEST, END)`` (2000-01-01 to before 2200-01-01, UTC). Python's
datetime stops at years 1 and 9999, so without a bound a far-off value, or a near-limit one plus an offset or a
lifetime, raised OverflowError deep in a query and answered 500. Dates and months take the same bounds.

Rows stored before these bounds existed may still hold far-off times (a key expiring in 9999); ``add`` clamps its
result into the bounds, so computing from such a row never raises either.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Annotated

from pydantic import AfterValidator

EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
END = datetime(2200, 1, 1, tzinfo=UTC)  # exclusive
LATEST = END - timedelta(microseconds=1)
FIRST_DAY = EARLIEST.date()
LAST_DAY = (END - timedelta(days=1)).date()
BOUNDS_TEXT = "2000-01-01T00:00:00Z to before 2200-01-01T00:00:00Z"
NEEDS_ZONE = "needs a time zone (RFC 3339, e.g. 2026-01-01T00:00:00Z)"
OUT_OF_RANGE = f"must be from {BOUNDS_TEXT}"

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def check(value: datetime) -> datetime:
    """``value`` in UTC if it has a time zone and lies within the bounds; else ValueError with a public message
    (the caller names the field). Compared before converting: converting year 1 at +05:00 to UTC overflows."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(NEEDS_ZONE)
    if not EARLIEST <= value < END:  # aware comparisons subtract as timedeltas, which cannot overflow
        raise ValueError(OUT_OF_RANGE)
    return value.astimezone(UTC)


def parse(text: str) -> datetime:
    """An ISO 8601 / RFC 3339 time within the bounds, in UTC; ValueError otherwise."""
    return check(datetime.fromisoformat(text))


# For pydantic models and FastAPI parameters: an error names the field, e.g. "expires_at: needs a time zone ...".
AwareTime = Annotated[datetime, AfterValidator(check)]


def parse_date(text: str) -> date:
    """A ``YYYY-MM-DD`` date within the bounds; ValueError otherwise."""
    try:
        if not _DATE.match(text):
            raise ValueError
        day = date.fromisoformat(text)  # also refuses a day that does not exist (2026-02-30)
    except ValueError:
        raise ValueError("must be a date as YYYY-MM-DD, e.g. 2026-01-31") from None
    if not FIRST_DAY <= day <= LAST_DAY:
        raise ValueError(f"must be from {FIRST_DAY} to {LAST_DAY}")
    return day


def parse_month(text: str) -> datetime:
    """The first moment (UTC) of the month ``YYYY-MM`` names, within the bounds; ValueError otherwise."""
    match = _MONTH.match(text)
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise ValueError("must be a month as YYYY-MM, e.g. 2026-01")
    year, month = int(match.group(1)), int(match.group(2))
    if not EARLIEST.year <= year <= LAST_DAY.year:  # checked before building a datetime: year 0 has none
        raise ValueError(f"must be from {EARLIEST:%Y-%m} to {LAST_DAY:%Y-%m}")
    return datetime(year, month, 1, tzinfo=UTC)


def clamp(value: datetime) -> datetime:
    """``value`` moved into the bounds (an aware time stored before the bounds existed)."""
    return min(max(value, EARLIEST), LATEST)


def add(moment: datetime, delta: timedelta) -> datetime:
    """``moment + delta`` clamped into the bounds. Never raises, whatever the stored ``moment`` or the ``delta``:
    the room left is a difference of two datetimes (a timedelta, which cannot overflow) compared before adding."""
    if delta >= LATEST - moment:
        return LATEST
    if delta <= EARLIEST - moment:
        return EARLIEST
    return moment + delta


def add_days(day: date, days: int) -> date:
    """``day`` plus ``days`` (negative to go back), clamped to the bounds' first and last day."""
    if days >= (LAST_DAY - day).days:
        return LAST_DAY
    if days <= (FIRST_DAY - day).days:
        return FIRST_DAY
    return day + timedelta(days=days)
