"""Properties of the time bounds, over the whole range Python can represent: checking and parsing either accept a
time within the bounds or raise ValueError (never OverflowError or TypeError); clamped arithmetic never raises and
never leaves the bounds."""

from __future__ import annotations

import contextlib
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from hokusai_auth import times

# Fixed offsets up to a day either way: wider than any real zone (+14:00 / -12:00), so the bounds are crossed
# from both sides and Python's own limits (year 1, year 9999) are reached with offsets that push past them.
OFFSETS = st.timedeltas(min_value=timedelta(hours=-23, minutes=-59), max_value=timedelta(hours=23, minutes=59))
ZONES = st.builds(timezone, OFFSETS)
AWARE = st.datetimes(timezones=ZONES)
ANY_UTC = st.datetimes(timezones=st.just(UTC))
DELTAS = st.timedeltas()  # the whole timedelta range, ±999999999 days


def within(value: datetime) -> bool:
    return times.EARLIEST <= value < times.END


@given(AWARE)
@example(datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=5))))
@example(datetime(9999, 12, 31, 23, 59, 59, tzinfo=timezone(timedelta(hours=-5))))
@example(datetime(1999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC))
@example(datetime(2000, 1, 1, 14, tzinfo=timezone(timedelta(hours=14))))
@example(datetime(2199, 12, 31, 11, 59, 59, tzinfo=timezone(timedelta(hours=-12))))
@example(datetime(2199, 12, 31, 12, tzinfo=timezone(timedelta(hours=-12))))
def test_check_accepts_exactly_the_bounded_instants(value: datetime) -> None:
    if within(value):
        checked = times.check(value)
        assert checked == value
        assert checked.tzinfo is UTC
    else:
        with pytest.raises(ValueError, match="must be from 2000-01-01T00:00:00Z to before 2200-01-01T00:00:00Z"):
            times.check(value)


@given(st.datetimes())
def test_naive_times_are_refused_asking_for_a_zone(value: datetime) -> None:
    with pytest.raises(ValueError, match="needs a time zone"):
        times.check(value)


@given(st.one_of(AWARE, st.datetimes()))
def test_parse_round_trips_every_representable_time(value: datetime) -> None:
    text = value.isoformat()
    if value.tzinfo is not None and within(value):
        assert times.parse(text) == value
    else:
        with pytest.raises(ValueError, match=r"needs a time zone|must be from"):
            times.parse(text)


@given(st.text(max_size=40))
def test_parse_never_raises_anything_but_value_error(text: str) -> None:
    try:
        parsed = times.parse(text)
    except ValueError:
        return
    assert within(parsed)


class _Model(BaseModel):
    at: times.AwareTime


@given(st.one_of(AWARE, st.datetimes()))
def test_the_pydantic_type_refuses_with_a_validation_error(value: datetime) -> None:
    if value.tzinfo is not None and within(value):
        assert _Model(at=value).at == value
    else:
        with pytest.raises(ValidationError):
            _Model(at=value.isoformat())


@given(ANY_UTC, DELTAS)
@example(datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC), timedelta(0))
@example(datetime(2026, 1, 1, tzinfo=UTC), datetime(9999, 12, 31, tzinfo=UTC) - datetime(1, 1, 1, tzinfo=UTC))
@example(datetime(1, 1, 1, tzinfo=UTC), timedelta(days=-1))
def test_add_never_raises_and_stays_within_the_bounds(moment: datetime, delta: timedelta) -> None:
    result = times.add(moment, delta)
    assert times.EARLIEST <= result <= times.LATEST
    exact = moment - times.EARLIEST + delta  # a timedelta: compared without building an out-of-range datetime
    if timedelta(0) <= exact <= times.LATEST - times.EARLIEST:
        assert result == moment + delta
    elif exact < timedelta(0):
        assert result == times.EARLIEST
    else:
        assert result == times.LATEST


@given(AWARE)
def test_clamp_moves_any_time_into_the_bounds(value: datetime) -> None:
    clamped = times.clamp(value)
    assert times.EARLIEST <= clamped <= times.LATEST
    if within(value):
        assert clamped == value


@given(st.dates(), st.integers(min_value=-(10**9), max_value=10**9))
def test_add_days_never_raises_and_stays_within_the_bounds(day: date, days: int) -> None:
    result = times.add_days(day, days)
    assert times.FIRST_DAY <= result <= times.LAST_DAY


@given(st.dates())
def test_parse_date_accepts_exactly_the_bounded_days(day: date) -> None:
    text = day.isoformat()
    if times.FIRST_DAY <= day <= times.LAST_DAY:
        assert times.parse_date(text) == day
    else:
        with pytest.raises(ValueError, match="must be from 2000-01-01 to 2199-12-31"):
            times.parse_date(text)


@given(st.integers(min_value=0, max_value=9999), st.integers(min_value=0, max_value=13))
def test_parse_month_accepts_exactly_the_bounded_months(year: int, month: int) -> None:
    text = f"{year:04d}-{month:02d}"
    if not 1 <= month <= 12:
        with pytest.raises(ValueError, match="YYYY-MM"):
            times.parse_month(text)
    elif 2000 <= year < 2200:
        assert times.parse_month(text) == datetime(year, month, 1, tzinfo=UTC)
    else:
        with pytest.raises(ValueError, match="must be from 2000-01 to 2199-12"):
            times.parse_month(text)


@given(st.text(max_size=20))
def test_date_and_month_parsers_raise_only_value_error(text: str) -> None:
    for parser in (times.parse_date, times.parse_month):
        with contextlib.suppress(ValueError):
            parser(text)
