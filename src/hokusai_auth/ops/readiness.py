"""What /ready asks: one probe per dependency (the database; Redis when configured), each bounded in time.

An optional dependency that is down degrades the service (it carries on without Redis) rather than making it
not ready; a required one makes it not ready.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

Probe = Callable[[], Awaitable[bool]]


@dataclass(frozen=True)
class ReadinessProbes:
    required: dict[str, Probe]
    optional: dict[str, Probe]

    async def run(self) -> dict[str, bool]:
        """Every dependency's answer, by name."""
        return {name: await probe() for name, probe in (self.required | self.optional).items()}
