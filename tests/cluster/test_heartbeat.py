"""The heartbeat that proves the invalidation subscription, and the change feed that follows it."""

from __future__ import annotations

import shutil
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from hokusai_auth.clock import FrozenClock
from hokusai_auth.cluster.heartbeat import RELAX_AFTER_S, Heartbeat
from hokusai_auth.cluster.link import RedisLink
from hokusai_auth.cluster.subscription import Subscription
from hokusai_auth.db.engine import Database, open_database
from hokusai_auth.propagation.change_feed import ChangeFeed
from hokusai_auth.validation.cache import LocalKeyCache
from tests.cluster.test_instances import PROPAGATION_BOUND_S
from tests.conftest import PrivateRedis, eventually

RECOVERY_S = 10  # how long Redis may take to be used again: not part of the contract, only a test timeout


class ManualClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def beat_sent(at: float) -> bytes:
    return repr(at).encode()


# ------------------------------------------------------------------------------------------ the state machine


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def heartbeat(clock: ManualClock) -> Heartbeat:
    # Nothing is published here (never started): the link is only there to satisfy the constructor.
    return Heartbeat(RedisLink("redis://127.0.0.1:1/0", prefix="unused"), "unused:hb:1", monotonic=clock)


def test_in_doubt_until_a_heartbeat_comes_back(heartbeat: Heartbeat, clock: ManualClock) -> None:
    assert heartbeat.proven_since() is None
    heartbeat.received(beat_sent(clock.now - 0.002))
    assert heartbeat.proven_since() == clock.now


def test_doubt_once_the_newest_heartbeat_is_older_than_the_window(heartbeat: Heartbeat, clock: ManualClock) -> None:
    heartbeat.received(beat_sent(clock.now))
    clock.now += heartbeat.window - 0.001
    assert heartbeat.proven
    clock.now += 0.002
    assert heartbeat.proven_since() is None


def test_a_streak_continues_while_heartbeats_keep_coming(heartbeat: Heartbeat, clock: ManualClock) -> None:
    started = clock.now
    heartbeat.received(beat_sent(clock.now))
    for _ in range(50):
        clock.now += 0.1
        heartbeat.received(beat_sent(clock.now - 0.001))
    assert heartbeat.proven_since() == started


def test_after_a_gap_a_new_streak_starts(heartbeat: Heartbeat, clock: ManualClock) -> None:
    heartbeat.received(beat_sent(clock.now))
    clock.now += heartbeat.window + 0.1
    heartbeat.received(beat_sent(clock.now))
    assert heartbeat.proven_since() == clock.now, "the feed must not count the time before the gap as proven"


def test_a_heartbeat_released_late_by_a_stalled_redis_proves_nothing(heartbeat: Heartbeat, clock: ManualClock) -> None:
    heartbeat.received(beat_sent(clock.now - 5.0))
    assert heartbeat.proven_since() is None
    assert heartbeat.returned == 0


def test_losing_the_subscription_means_doubt_at_once(heartbeat: Heartbeat, clock: ManualClock) -> None:
    heartbeat.received(beat_sent(clock.now))
    heartbeat.subscription_lost()
    assert heartbeat.proven_since() is None


def test_a_malformed_heartbeat_is_ignored(heartbeat: Heartbeat) -> None:
    heartbeat.received(b"not a time")
    assert heartbeat.proven_since() is None


# ------------------------------------------------------------------------------------------ with real Redis


@dataclass
class Listener:
    link: RedisLink
    heartbeat: Heartbeat
    subscription: Subscription


@pytest.fixture
async def listener(private_redis: PrivateRedis) -> AsyncIterator[Listener]:
    """What every instance's invalidation bus runs: a heartbeat through the link, a subscription that hears it."""
    link = RedisLink(private_redis.url, prefix="hbtest")
    heartbeat = Heartbeat(link, link.key("hb", "one"))
    subscription = Subscription(link.new_connection, link.key("invalidate"), lambda _: None, heartbeat=heartbeat)
    subscription.start()
    heartbeat.start()
    yield Listener(link, heartbeat, subscription)
    if private_redis.process is not None:
        private_redis.resume()  # a test that failed while the server was paused must not leave it paused
    await heartbeat.stop()
    await subscription.stop()
    await link.close()


async def _is(predicate: bool) -> bool:
    return predicate


async def test_hung_redis_means_doubt_within_the_bound_and_a_new_streak_after(
    listener: Listener, private_redis: PrivateRedis
) -> None:
    heartbeat = listener.heartbeat
    await eventually(lambda: _is(heartbeat.proven), within=RECOVERY_S)

    private_redis.pause()
    # Revocations must still arrive within the bound, so doubt (and the fast polling it causes) must come sooner.
    await eventually(lambda: _is(not heartbeat.proven), within=PROPAGATION_BOUND_S)
    await eventually(lambda: _is(not listener.link.up), within=PROPAGATION_BOUND_S)
    assert listener.subscription.subscribed.is_set(), "a stall alone does not drop the connection"

    resumed_at = time.monotonic()
    private_redis.resume()
    await eventually(lambda: _is(heartbeat.proven), within=RECOVERY_S)
    since = heartbeat.proven_since()
    assert since is not None
    assert since >= resumed_at, "heartbeats released by the stall do not count"


async def test_killed_and_restarted_redis(listener: Listener, private_redis: PrivateRedis) -> None:
    heartbeat = listener.heartbeat
    await eventually(lambda: _is(heartbeat.proven), within=RECOVERY_S)
    private_redis.stop()
    await eventually(lambda: _is(not heartbeat.proven), within=PROPAGATION_BOUND_S)
    restarted_at = time.monotonic()
    private_redis.start()
    await eventually(lambda: _is(heartbeat.proven), within=RECOVERY_S)
    since = heartbeat.proven_since()
    assert since is not None
    assert since >= restarted_at


async def test_a_dropped_subscription_is_doubt_even_while_commands_work(
    listener: Listener, private_redis: PrivateRedis
) -> None:
    heartbeat = listener.heartbeat
    await eventually(lambda: _is(heartbeat.proven), within=RECOVERY_S)
    admin = aioredis.Redis.from_url(private_redis.url)
    try:
        assert await admin.client_kill_filter(_type="pubsub") == 1
    finally:
        await admin.aclose()
    await eventually(lambda: _is(not heartbeat.proven), within=PROPAGATION_BOUND_S)
    assert listener.link.up, "the command connection was never in trouble"
    await eventually(lambda: _is(heartbeat.proven and listener.subscription.subscribed.is_set()), within=RECOVERY_S)


# ------------------------------------------------------------------------------------------ the change feed


@pytest.fixture
async def sqlite_feed_database(tmp_path: Path, sqlite_template: Path) -> AsyncIterator[Database]:
    path = tmp_path / "feed.db"
    shutil.copy(sqlite_template, path)
    database = open_database(f"sqlite:///{path}")
    yield database
    await database.dispose()


async def test_the_feed_relaxes_only_after_a_proven_streak_and_a_poll_inside_it(
    sqlite_feed_database: Database, clock: ManualClock
) -> None:
    proven_since: list[float | None] = [None]
    feed = ChangeFeed(
        sqlite_feed_database,
        LocalKeyCache(60, 5),
        FrozenClock(),
        interval=0.5,
        relaxed_interval=5.0,
        push_proven_since=lambda: proven_since[0],
        monotonic=clock,
    )
    await feed.poll_once()
    assert not feed.relaxed(), "in doubt"

    proven_since[0] = clock.now + 0.1
    clock.now += RELAX_AFTER_S + 1
    assert not feed.relaxed(), "no poll since the streak began: messages lost before it may be unread"
    await feed.poll_once()
    assert feed.relaxed()

    proven_since[0] = clock.now - 0.5
    await feed.poll_once()
    assert not feed.relaxed(), "a streak younger than RELAX_AFTER_S (peers may still be recovering)"

    proven_since[0] = None
    assert not feed.relaxed()


async def test_a_relaxed_feed_polls_at_once_when_redis_hangs(
    sqlite_feed_database: Database, listener: Listener, private_redis: PrivateRedis
) -> None:
    feed = ChangeFeed(
        sqlite_feed_database,
        LocalKeyCache(60, 5),
        FrozenClock(),
        interval=0.5,
        relaxed_interval=30.0,  # so long that only the switch to doubt can explain a poll within the bound
        push_proven_since=listener.heartbeat.proven_since,
    )
    feed.start()
    try:
        await eventually(lambda: _is(feed.relaxed()), within=RECOVERY_S)
        polls = feed.polls
        private_redis.pause()
        await eventually(lambda: _is(feed.polls > polls), within=PROPAGATION_BOUND_S)
        assert not feed.relaxed()
        private_redis.resume()
        await eventually(lambda: _is(feed.relaxed()), within=RECOVERY_S)
    finally:
        await feed.stop()
