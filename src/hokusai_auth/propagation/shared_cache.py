"""Key states shared by every instance through Redis, so a key validated anywhere is warm everywhere and a
restarted instance pays no bcrypt for keys validated recently by any instance.

Entries carry the key's version, and a write only lands if it is not older than what is stored (checked inside
Redis by a script): an instance that read a key just before it was revoked cannot put the old state back over
the new one. Only positive states are shared; "no such key" stays local.
"""

from __future__ import annotations

import logging

import orjson
from redis.asyncio import Redis

from hokusai_auth.cluster.link import RedisDown, RedisLink
from hokusai_auth.validation.state import KeyState

logger = logging.getLogger("hokusai_auth.shared_cache")

# KEYS[1] = entry; ARGV = version, payload, ttl ms. Stored as "<version>|<json>".
_PUT_IF_NOT_OLDER = """
local current = redis.call('GET', KEYS[1])
if current then
  local stored = tonumber(string.match(current, '^(%d+)|'))
  if stored and stored > tonumber(ARGV[1]) then return 0 end
end
redis.call('SET', KEYS[1], ARGV[1] .. '|' .. ARGV[2], 'PX', ARGV[3])
return 1
"""


class SharedKeyCache:
    def __init__(self, link: RedisLink, ttl: float) -> None:
        self._link = link
        self._ttl_ms = max(1, int(ttl * 1000))
        self._put_script = link.client.register_script(_PUT_IF_NOT_OLDER)

    def _entry(self, digest: str) -> str:
        return self._link.key("key", digest)

    async def get(self, digest: str) -> KeyState | None:
        """The shared state, or None when Redis has none (or cannot be asked)."""
        try:
            raw = await self._link.call(lambda client: client.get(self._entry(digest)))
        except RedisDown:
            return None
        if raw is None:
            return None
        try:
            data = raw.encode() if isinstance(raw, str) else raw
            _, payload = data.split(b"|", 1)
            return KeyState.from_json(orjson.loads(payload))
        except (ValueError, KeyError, TypeError):
            logger.warning("ignoring an unreadable shared cache entry")
            return None

    async def put(self, digest: str, state: KeyState) -> bool:
        """Store ``state`` unless a newer version is there. False when Redis could not be reached."""
        payload = orjson.dumps(state.to_json())

        async def write(client: Redis) -> object:
            return await self._put_script(
                keys=[self._entry(digest)], args=[state.version, payload, self._ttl_ms], client=client
            )

        try:
            await self._link.call(write)
        except RedisDown:
            return False
        return True

    async def delete(self, digest: str, client: Redis | None = None) -> None:
        target = client or self._link.client
        await target.delete(self._entry(digest))
