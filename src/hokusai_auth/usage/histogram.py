"""Response times as a fixed-bucket histogram: buckets from different records, hours and instances add up
exactly (a sum of counts), which a list of samples or a running percentile could not do in a SQL upsert.

A percentile read from it is the upper bound of the bucket it falls in, capped by the largest time seen: never
below the true value, at most one bucket step (×2 or ×2.5) above it.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence

# Upper bounds (inclusive, ms) of the buckets; one more bucket holds everything slower than the last bound.
# Changing them changes the usage_rollups columns: it needs a migration.
BOUNDS_MS: tuple[int, ...] = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000)
BUCKETS = len(BOUNDS_MS) + 1
COLUMNS: tuple[str, ...] = (
    *(f"latency_le_{bound}ms" for bound in BOUNDS_MS),
    f"latency_over_{BOUNDS_MS[-1]}ms",
)


def bucket_of(response_time_ms: int) -> int:
    """Index of the bucket a response time falls in (the first bound it does not exceed)."""
    return bisect_left(BOUNDS_MS, response_time_ms)


def percentile(counts: Sequence[int], max_ms: int, percent: int) -> int:
    """The ``percent``-th percentile (nearest rank) as its bucket's upper bound, capped at ``max_ms``; 0 when
    there are no samples."""
    total = sum(counts)
    if total == 0:
        return 0
    rank = -(-percent * total // 100)  # ceil(percent% of total) in integers: no float rounding at the edges
    cumulative = 0
    for index, count in enumerate(counts):
        cumulative += count
        if cumulative >= rank:
            bound = BOUNDS_MS[index] if index < len(BOUNDS_MS) else max_ms
            return min(bound, max_ms)
    return max_ms  # unreachable: cumulative reaches total >= rank
