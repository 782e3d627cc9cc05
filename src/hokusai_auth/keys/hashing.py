"""bcrypt, always off the event loop, on a pool no wider than the CPU: it is pure CPU work, and more threads
than cores would only slow every other request down."""

from __future__ import annotations

import asyncio
import os
from concurrent.futures import ThreadPoolExecutor

import bcrypt


class KeyHasher:
    def __init__(self, rounds: int, *, workers: int | None = None) -> None:
        self.rounds = rounds
        self._pool = ThreadPoolExecutor(max_workers=workers or os.cpu_count() or 2, thread_name_prefix="bcrypt")
        self.verifications = 0  # counted for tests and metrics: no request may cost more than one

    async def hash(self, key: str) -> str:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, self._hash_sync, key)

    async def verify(self, key: str, key_hash: str) -> bool:
        self.verifications += 1
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, self._verify_sync, key, key_hash)

    def _hash_sync(self, key: str) -> str:
        return bcrypt.hashpw(key.encode(), bcrypt.gensalt(rounds=self.rounds)).decode()

    @staticmethod
    def _verify_sync(key: str, key_hash: str) -> bool:
        try:
            return bcrypt.checkpw(key.encode(), key_hash.encode())
        except ValueError:  # a corrupt stored hash is a failed check, not a crash
            return False

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
