"""The contract's validation failures as data: code -> status and exact public error string.

Every component that says "no" to a key (the validate endpoint, the embedded validator and its ASGI middleware,
the gateway) takes its wording from here, so clients see one vocabulary everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Code(StrEnum):
    MISSING = "missing_api_key"
    INVALID = "invalid_api_key"
    EXPIRED = "expired"
    REVOKED = "revoked"
    WRONG_SERVICE = "wrong_service"
    ENVIRONMENT_MISMATCH = "environment_mismatch"
    IP_NOT_ALLOWED = "ip_not_allowed"
    INSUFFICIENT_SCOPE = "insufficient_scope"
    RATE_LIMITED = "rate_limited"
    QUOTA_EXCEEDED = "quota_exceeded"
    UNAVAILABLE = "service_unavailable"


ERRORS: dict[Code, tuple[int, str]] = {
    Code.MISSING: (401, "API key required"),
    Code.INVALID: (401, "Invalid API key"),
    Code.EXPIRED: (401, "API key has expired"),
    Code.REVOKED: (401, "API key is inactive or has been revoked"),
    Code.WRONG_SERVICE: (401, "Key not authorized for this service"),
    Code.ENVIRONMENT_MISMATCH: (401, "API key environment mismatch"),
    Code.IP_NOT_ALLOWED: (401, "IP address not in allowlist"),
    Code.INSUFFICIENT_SCOPE: (401, "Key does not have required scope"),
    Code.RATE_LIMITED: (429, "Rate limit exceeded"),
    Code.QUOTA_EXCEEDED: (429, "Monthly prediction limit exceeded"),
    # Never a 401: an outage of a dependency says nothing about the key.
    Code.UNAVAILABLE: (503, "Service temporarily unavailable"),
}


@dataclass(frozen=True, slots=True)
class Rejection:
    code: Code
    detail: str
    retry_after: int | None = None
    extra: tuple[tuple[str, str], ...] = ()

    @property
    def status(self) -> int:
        return ERRORS[self.code][0]

    @property
    def error(self) -> str:
        return ERRORS[self.code][1]


def reject(code: Code, detail: str | None = None, *, retry_after: int | None = None, **extra: str) -> Rejection:
    return Rejection(code, detail or ERRORS[code][1], retry_after, tuple(extra.items()))
