"""The pure parts of usage: histogram percentiles, plans and money, calendar periods, the buffer, the key cache,
the service credential."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from hokusai._vocabulary import Plan
from hokusai_auth import bootstrap
from hokusai_auth.errors import ServiceError
from hokusai_auth.security.tokens import BearerTokens
from hokusai_auth.settings import Settings
from hokusai_auth.usage import histogram, periods, plans
from hokusai_auth.usage.buffer import UsageBuffer
from hokusai_auth.usage.known_keys import KnownKeys


def counts_of(times: list[int]) -> list[int]:
    counts = [0] * histogram.BUCKETS
    for ms in times:
        counts[histogram.bucket_of(ms)] += 1
    return counts


def test_histogram_buckets_are_inclusive_upper_bounds() -> None:
    assert histogram.bucket_of(0) == 0
    assert histogram.bucket_of(1) == 0
    assert histogram.bucket_of(2) == 1
    assert histogram.bucket_of(10_000) == len(histogram.BOUNDS_MS) - 1
    assert histogram.bucket_of(10_001) == len(histogram.BOUNDS_MS)
    assert len(histogram.COLUMNS) == histogram.BUCKETS


@pytest.mark.parametrize(
    ("times", "p95"),
    [
        ([], 0),
        ([7], 7),  # one sample: capped by the maximum
        ([3] * 95 + [4000] * 5, 5),  # the 95th sample is the last fast one
        ([3] * 94 + [4000] * 6, 4000),
        ([3] * 94 + [4500] * 5 + [60_000], 5000),
        ([20_000] * 10, 20_000),  # beyond the last bound: the maximum
    ],
)
def test_p95_is_the_upper_bound_of_its_bucket(times: list[int], p95: int) -> None:
    assert histogram.percentile(counts_of(times), max(times, default=0), 95) == p95


def test_every_billing_plan_has_included_predictions() -> None:
    assert set(plans.INCLUDED_PREDICTIONS) == set(Plan)


@pytest.mark.parametrize(
    ("plan", "predictions", "micros"),
    [
        ("free", 0, 0),
        ("free", 1_000, 0),
        ("free", 1_001, 1_000),
        ("free", 2_234, 1_234_000),
        ("starter", 50_000, 0),
        ("starter", 51_234, 1_234_000),
        ("pro", 500_000, 0),
        ("pro", 1_500_000, 1_000_000_000),
        ("enterprise", 5_000_000, 0),
        ("enterprise", 5_000_001, 1_000),
    ],
)
def test_overage_is_a_tenth_of_a_cent_per_prediction_beyond_the_plan(plan: str, predictions: int, micros: int) -> None:
    charge = plans.charge_for(plan, predictions)
    assert charge.overage_micros == micros
    assert charge.overage_dollars == Decimal(micros) / 1_000_000


@pytest.mark.parametrize("micros", [0, 1_000, 1_234_000, 12_345_000, 999_999_999_999_999_000, 100_000])
def test_dollars_render_as_the_exact_decimal(micros: int) -> None:
    number = plans.dollars_as_json_number(micros)
    assert Decimal(repr(number)) == Decimal(micros) / 1_000_000


def test_an_amount_a_float_cannot_show_exactly_is_refused() -> None:
    with pytest.raises(ValueError, match="exactly"):
        plans.dollars_as_json_number(10**22 + 1)


def test_periods_and_month_boundaries() -> None:
    late = datetime(2026, 1, 31, 23, 59, 59, 999_999, tzinfo=UTC)
    assert periods.month_start(late) == datetime(2026, 1, 1, tzinfo=UTC)
    assert periods.next_month(late) == datetime(2026, 2, 1, tzinfo=UTC)
    assert periods.next_month(datetime(2026, 12, 5, tzinfo=UTC)) == datetime(2027, 1, 1, tzinfo=UTC)
    assert periods.hour_of(late) == datetime(2026, 1, 31, 23, tzinfo=UTC)
    assert periods.parse_period("2024-02", late) == datetime(2024, 2, 1, tzinfo=UTC)
    assert periods.parse_period(None, late) == datetime(2026, 1, 1, tzinfo=UTC)
    assert periods.period_name(datetime(987, 3, 1, tzinfo=UTC)) == "0987-03"


def test_date_ranges() -> None:
    today = date(2026, 3, 1)
    assert periods.date_range(None, None, today) == (date(2026, 1, 31), today)
    assert periods.date_range("2026-02-01", None, today) == (date(2026, 2, 1), today)
    assert periods.date_range(None, "2026-01-30", today) == (date(2026, 1, 1), date(2026, 1, 30))
    assert periods.date_range("2026-01-01", "2026-01-01", today) == (date(2026, 1, 1), date(2026, 1, 1))
    with pytest.raises(ServiceError) as refused:
        periods.date_range("2026-01-02", "2026-01-01", today)
    assert refused.value.status == 422
    assert refused.value.detail.startswith("start_date:")


def test_the_buffer_rolls_records_up_per_key_hour_service_endpoint_and_status_class() -> None:
    buffer = UsageBuffer()
    key = uuid.uuid4()
    at = datetime(2026, 1, 31, 23, 10, tzinfo=UTC)

    def add(status: int = 200, minute: int = 10, idem: str | None = None, predictions: int = 1) -> bool:
        return buffer.add(
            key,
            service_id="prediction",
            endpoint="/p",
            status_code=status,
            response_time_ms=5,
            predictions=predictions,
            compute_ms=2,
            idempotency_key=idem,
            at=at.replace(minute=minute),
        )

    assert add()
    assert add(status=201, minute=59)  # same hour, same class
    assert add(status=404)
    assert add(idem="a")
    assert not add(idem="a"), "a repeat held in memory"
    (batch,) = buffer.take()
    assert sorted(key.status_class for key in batch.rollups) == [2, 4]
    assert [counts.requests for counts in batch.rollups.values()] == [2, 1]
    assert len(batch.samples) == 1
    assert buffer.records == 4
    assert buffer.pending_predictions(key, datetime(2026, 1, 1, tzinfo=UTC)) == 4
    assert buffer.take() == [batch], "not yet written: taken again"
    assert not add(idem="a"), "still held while its batch is unwritten"
    buffer.written([batch])
    assert buffer.records == 0
    assert buffer.pending_predictions(key, datetime(2026, 1, 1, tzinfo=UTC)) == 0
    assert add(idem="a"), "once written, the database decides"


def test_known_keys_keep_positive_answers_and_expire_negative_ones() -> None:
    now = [100.0]
    known = KnownKeys(5.0, max_known=2, max_unknown=2, monotonic=lambda: now[0])
    a, b, c, missing = (uuid.uuid4() for _ in range(4))
    assert known.lookup(a) is None
    known.remember(a, True)
    known.remember(missing, False)
    assert known.lookup(a) is True
    assert known.lookup(missing) is False
    now[0] += 5.0
    assert known.lookup(missing) is None, "a negative answer is short-lived"
    now[0] += 10_000
    assert known.lookup(a) is True, "ids never disappear"
    known.remember(b, True)
    known.remember(c, True)
    assert len(known) == 2, "bounded"
    assert known.lookup(a) is None


def test_service_tokens_identify_a_fingerprint_never_the_token() -> None:
    token = "svc-" + "q" * 40
    auth = BearerTokens("service", (token, "another-service-token-" + "w" * 20))
    actor = auth.identify(token)
    assert actor is not None
    assert actor.startswith("service:")
    assert len(actor) == len("service:") + 8
    assert token[:8] not in actor
    assert auth.identify("wrong") is None
    assert auth.identify(None) is None
    assert BearerTokens("service", ()).identify("") is None


def test_service_tokens_setting_is_comma_separated_under_both_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SERVICE_TOKENS", raising=False)
    monkeypatch.setenv("HOKUSAI_SERVICE_TOKENS", "one, two ,three")
    assert Settings().service_token_values() == ("one", "two", "three")
    monkeypatch.delenv("HOKUSAI_SERVICE_TOKENS")
    monkeypatch.setenv("SERVICE_TOKENS", "solo")
    assert Settings().service_token_values() == ("solo",)
    assert "solo" not in repr(Settings()), "secrets stay hidden in reprs"


def test_production_refuses_weak_service_tokens() -> None:
    strong = "Zq8v3LkP0wX9rT2mN6bY4cH7jD1fG5sA8eK0uI3oP6l"
    settings = Settings(
        env="production",
        admin_tokens=strong,
        secret_key=strong,
        database_url="sqlite:///x.db",
        service_tokens=f"{strong},short",
    )
    with pytest.raises(bootstrap.ConfigurationError, match="SERVICE_TOKENS"):
        bootstrap.prepare(settings)
    bootstrap.prepare(settings.model_copy(update={"service_tokens": Settings(service_tokens=strong).service_tokens}))
