"""Whether Redis pub/sub would carry an invalidation to this instance *now*: proven by a heartbeat, not assumed.

A subscription that merely has an open socket proves nothing: a Redis stopped with SIGSTOP, a network that
drops packets, a server busy in a long fork keep the socket open and silent. So every instance publishes a small
heartbeat on a channel of its own (``<prefix>:hb:<instance>``) every ``HEARTBEAT_EVERY_S``, through its ordinary
command connection, and its invalidation subscription listens to that channel too. A heartbeat that comes back
means a message published now travels the whole path (command connection, Redis, subscription connection) and,
since Redis delivers in order on one connection, that every message Redis accepted before it has reached us.

The invalidation push is *proven* while the newest heartbeat that came back was sent less than
``HEARTBEAT_WINDOW_S`` ago (it carries its send time; one released late by a Redis waking up proves that Redis was
stalled, not that it answers, and does not count). Anything else is *in doubt*: not subscribed, reconnecting, the
command connection marked down, Redis stopped or hung. While in doubt the database change feed polls at its fast
interval (change_feed.py); it relaxes only after the push has been proven continuously for ``RELAX_AFTER_S``.

Worst case from a committed change on instance A to instance B refusing the key, with the defaults
(I = CHANGE_FEED_INTERVAL 0.5 s, W = HEARTBEAT_WINDOW_S 0.35 s, T = REDIS_TIMEOUT 0.25 s, tick = the feed's
TICK_S 0.05 s, q = one indexed change-feed query, milliseconds):

(a) Redis healthy: A publishes after the commit and B drops its entry on receipt: milliseconds.
(b) Redis killed at t_k: B's subscription reads end-of-file at once and B is in doubt (with no reset, e.g. a
    vanished machine, its heartbeats stop instead: doubt by t_k + W). A relaxed feed notices within tick and
    polls at once, or I after its previous poll if that one is more recent, then every I. A commit at t0 is read
    by the first poll that starts after it, as is a change committed just before t_k whose message died in
    Redis's output buffer. Worst: max(I, W + tick) + q = 0.5 s + q.
(c) Redis hung (SIGSTOP, sockets open) at t_h: no heartbeat sent after t_h comes back in time, so B is in doubt by
    t_h + W and polls within tick (or at I after its previous poll if that one is more recent). A commit at
    t0 >= t_h is seen by B at max(t_h + W + tick, previous poll + I) <= t0 + max(W + tick, I). Worst: 0.5 s + q.
    Nothing is lost, only delayed, on connections that stay open; A's publish times out after T and A replays it
    when Redis answers again.
(d) Redis restarted: (b) until it is back. Each instance's link recovers within its recheck interval (0.5 s), each
    subscription within its resubscribe delay (0.5 s); B stays on fast polls until its heartbeat has come back for
    RELAX_AFTER_S and a poll has started since, so changes published while B was not yet subscribed again, or made
    by an instance whose link recovers later than B's, are still read from the database within I. Worst: I + q.
(e) Redis slow (every call takes longer than T): the first heartbeat B sends after the slowness began (at
    t_s) times out and marks B's link down, so no later one is sent, and B is in doubt by t_s + 0.1 s + W:
    max(I, 0.1 s + W + tick) + q = 0.5 s + q. A replays its change once Redis answers within T again.

So the one-second promise holds for CHANGE_FEED_INTERVAL up to about 0.9 s, whatever REDIS_TIMEOUT is (the
window is measured from each heartbeat's sending, so a slow answer is doubt even if no call timed out).
Not a Redis failure and not covered: a partition that cuts A from Redis while B still reaches it. B stays proven
and relaxed; A's change reaches B at A's replay or at B's next relaxed poll (RELAXED_CHANGE_FEED_INTERVAL_S).

When the heartbeat resumes after doubt, local entries are *not* expired. Messages lost while the subscription was
down carried only (digest, version) of rows whose ``updated_at`` the change feed reads; the feed polled at the
fast interval throughout the doubt, its window reaches back to its last successful poll (so a database hiccup
opens no gap), and it relaxes only after a poll started inside the new proven streak, i.e. after any message that
could have been lost was published. Expiring everything would add one database read per cached key on every
instance at the moment Redis returns, for nothing the feed has not already applied.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from hokusai_auth.cluster.link import RedisDown, RedisLink

logger = logging.getLogger("hokusai_auth.heartbeat")
HEARTBEAT_CHANNEL = "hb"
HEARTBEAT_EVERY_S = 0.1
# Three heartbeats: tolerant of a busy event loop, yet well inside the one-second promise. A false doubt only
# costs a few extra change-feed polls.
HEARTBEAT_WINDOW_S = 0.35
# Longer than an instance's link needs to notice Redis is back (link.RECHECK_INTERVAL_S) with margin: until every
# peer publishes again, their changes may be in flight only through the database. Also stops a flapping Redis
# from relaxing the feed between two failures.
RELAX_AFTER_S = 2.0


class Heartbeat:
    def __init__(
        self,
        link: RedisLink,
        channel: str,
        *,
        every: float = HEARTBEAT_EVERY_S,
        window: float = HEARTBEAT_WINDOW_S,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._link = link
        self.channel = channel
        self._every = every
        self.window = window
        self._monotonic = monotonic
        self._newest_sent: float | None = None  # send time of the newest heartbeat that came back in time
        self._since: float | None = None  # when the current proven streak began
        self._task: asyncio.Task[None] | None = None
        self._running = False
        self.returned = 0  # heartbeats that came back in time (tests watch it)

    def proven_since(self) -> float | None:
        """Since when (``monotonic`` time) the push has been proven without a break; None while in doubt."""
        if self._newest_sent is None or self._monotonic() - self._newest_sent > self.window:
            return None
        return self._since

    @property
    def proven(self) -> bool:
        return self.proven_since() is not None

    def received(self, data: bytes) -> None:
        """A heartbeat came back through the subscription."""
        now = self._monotonic()
        try:
            sent_at = float(data)
        except ValueError:
            logger.warning("ignoring a malformed heartbeat")
            return
        if now - sent_at > self.window:
            return  # released late by a stalled Redis: it proves the stall, not an answer
        self.returned += 1
        if self._newest_sent is None or now - self._newest_sent > self.window:
            self._since = now  # there was doubt just before this one: a new streak starts here
        self._newest_sent = max(self._newest_sent or sent_at, sent_at)

    def subscription_lost(self) -> None:
        """Doubt at once (not after the window): whatever comes next must prove itself on the new connection."""
        self._newest_sent = None
        self._since = None

    def start(self) -> None:
        self._running = True
        self._task = asyncio.create_task(self._beat(), name=f"heartbeat:{self.channel}")

    async def stop(self) -> None:
        self._running = False  # ends the loop even if Redis code loses the cancellation (link.py)
        if self._task is not None:
            self._task.cancel()  # waits on Redis or a sleep only: safe to cancel
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _beat(self) -> None:
        while self._running:
            started = self._monotonic()
            with contextlib.suppress(RedisDown):
                await self._send(repr(started).encode())
            await asyncio.sleep(max(0.0, self._every - (self._monotonic() - started)))

    async def _send(self, payload: bytes) -> None:
        # Through the link on purpose: a timeout here marks Redis down for every caller (rate limits, shared
        # cache) even when no request is running, and while it is down no heartbeat is sent, so doubt lasts
        # until the link has recovered and replayed what it could not publish.
        await self._link.call(lambda client: client.publish(self.channel, payload))
