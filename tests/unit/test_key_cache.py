"""The in-process key cache: fresh and stale answers, version floors, bounded size."""

from __future__ import annotations

from dataclasses import replace

from hokusai_auth.validation.cache import LocalKeyCache, Miss
from tests.unit.test_state import state


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_change_to_a_key_not_held_still_sets_its_version_floor() -> None:
    """Another instance revoked the key (version 5) and published it; this instance never saw the key. A lookup
    that then finds an older state (a shared entry not yet updated) must not cache or use it."""
    cache = LocalKeyCache(60, 5, monotonic=Clock())
    cache.invalidate_digest("d", version=5)
    assert cache.get_fresh("d") is Miss.MISS
    lookup = cache.get("d")
    assert lookup is not None
    assert (lookup.state, lookup.invalidated, lookup.min_version) == (None, True, 5)
    cache.put("d", replace(state(), version=4))
    assert cache.get_fresh("d") is Miss.MISS, "an older state is refused"
    current = replace(state(), version=5)
    cache.put("d", current)
    assert cache.get_fresh("d") == current


def test_markers_for_keys_not_held_are_bounded_like_entries() -> None:
    cache = LocalKeyCache(60, 5, max_entries=100, monotonic=Clock())
    for number in range(1000):
        cache.invalidate_digest(f"d{number}", version=2)
    assert len(cache) == 100


def test_entries_go_stale_after_their_ttl_and_keep_what_they_knew() -> None:
    clock = Clock()
    cache = LocalKeyCache(60, 5, monotonic=clock)
    key = state()
    cache.put("d", key)
    cache.put("missing", None)
    clock.now = 10
    assert cache.get_fresh("d") == key
    assert cache.get_fresh("missing") is Miss.MISS, "no such key is only believed for the negative TTL"
    clock.now = 61
    assert cache.get_fresh("d") is Miss.MISS
    stale = cache.get("d")
    assert stale is not None
    assert (stale.state, stale.fresh) == (key, False)
