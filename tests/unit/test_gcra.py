from hokusai_auth.ratelimit.gcra import HOUR_US, evaluate
from hokusai_auth.ratelimit.memory import MemoryLimiter

NOW = 1_800_000_000_000_000


def run(limit: int, burst: int, count: int, cost: int = 1, now: int = NOW) -> tuple[int, int | None]:
    tat = None
    allowed = 0
    for _ in range(count):
        outcome = evaluate(tat, now, limit, burst, cost)
        if outcome.decision.allowed:
            allowed += 1
            tat = outcome.new_tat_us
    return allowed, tat


def test_limit_of_ten_admits_exactly_ten_then_denies_with_retry_after() -> None:
    tat = None
    for expected_remaining in range(9, -1, -1):
        outcome = evaluate(tat, NOW, 10, 10, 1)
        assert outcome.decision.allowed
        assert outcome.decision.remaining == expected_remaining
        tat = outcome.new_tat_us
    denied = evaluate(tat, NOW, 10, 10, 1)
    assert not denied.decision.allowed
    assert denied.new_tat_us is None, "a denied request spends nothing"
    assert denied.decision.retry_after_s == 360  # one unit every 3600 s / 10
    assert denied.decision.reset_after_s == 3600


def test_after_retry_after_the_next_request_is_admitted() -> None:
    allowed, tat = run(10, 10, 10)
    assert allowed == 10
    assert not evaluate(tat, NOW + 359_999_999, 10, 10, 1).decision.allowed
    assert evaluate(tat, NOW + 360_000_000, 10, 10, 1).decision.allowed


def test_burst_smaller_than_the_hourly_limit() -> None:
    allowed, tat = run(3600, 5, 100)
    assert allowed == 5
    # one more unit each second
    assert evaluate(tat, NOW + 1_000_000, 3600, 5, 1).decision.allowed


def test_cost_zero_only_looks() -> None:
    _allowed, tat = run(10, 10, 3)
    peek = evaluate(tat, NOW, 10, 10, 0)
    assert peek.decision.allowed
    assert peek.decision.remaining == 7
    assert peek.new_tat_us is None


def test_a_cost_larger_than_what_remains_is_denied_whole() -> None:
    _, tat = run(10, 10, 8)
    outcome = evaluate(tat, NOW, 10, 10, 3)
    assert not outcome.decision.allowed
    assert outcome.decision.remaining == 2
    assert evaluate(tat, NOW, 10, 10, 2).decision.allowed


def test_full_allowance_returns_after_an_hour() -> None:
    allowed, tat = run(100, 100, 100)
    assert allowed == 100
    assert evaluate(tat, NOW + HOUR_US, 100, 100, 1).decision.remaining == 99


async def test_memory_limiter_keeps_state_per_bucket() -> None:
    now = [NOW]
    limiter = MemoryLimiter(now_us=lambda: now[0])
    for _ in range(10):
        assert (await limiter.hit("a", 10, 10, 1)).allowed
    assert not (await limiter.hit("a", 10, 10, 1)).allowed
    assert (await limiter.hit("b", 10, 10, 1)).allowed
    now[0] += 360_000_000
    assert (await limiter.hit("a", 10, 10, 1)).allowed
