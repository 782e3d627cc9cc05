"""GCRA (the generic cell rate algorithm): an exact, O(1) rate limit that needs one number per key.

State is the theoretical arrival time (TAT) in integer microseconds. A limit of N per hour emits one unit every
T = 3600 s / N; a burst of B lets the TAT run up to B*T ahead of now. Integer microseconds keep every figure exact
and are what the Redis script computes too (Lua numbers hold integers exactly up to 2**53).
"""

from __future__ import annotations

from dataclasses import dataclass

HOUR_US = 3_600_000_000


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    reset_after_s: int  # seconds until the allowance is full again
    retry_after_s: int | None  # when denied: seconds until this request's cost would be admitted


@dataclass(frozen=True, slots=True)
class Evaluation:
    """One request against a bucket: the decision, and the bucket's state to store."""

    decision: Decision
    new_tat_us: int | None  # None: state unchanged


def ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def evaluate(tat_us: int | None, now_us: int, limit_per_hour: int, burst: int, cost: int) -> Evaluation:
    interval = HOUR_US // limit_per_hour
    capacity = burst * interval
    tat = now_us if tat_us is None or tat_us < now_us else tat_us
    new_tat = tat + cost * interval
    if new_tat - now_us > capacity:  # admitting this would exceed the burst allowance
        remaining = max(0, (capacity - (tat - now_us)) // interval)
        retry_us = new_tat - now_us - capacity
        return Evaluation(
            Decision(
                False,
                limit_per_hour,
                remaining,
                ceil_div(tat - now_us, 1_000_000),
                max(1, ceil_div(retry_us, 1_000_000)),
            ),
            None,
        )
    remaining = (capacity - (new_tat - now_us)) // interval
    return Evaluation(
        Decision(True, limit_per_hour, remaining, ceil_div(new_tat - now_us, 1_000_000), None),
        new_tat if cost else None,
    )
