"""A refusal as data: which contract failure (``hokusai._vocabulary.Failure``, which carries the status and exact
public error string), a detail for people, and what the caller may need to retry or fix it.

Every component that says "no" to a key (the validate endpoint, the embedded validator and its ASGI middleware,
the gateway in both modes) builds one of these, so clients see one vocabulary everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass

from hokusai._vocabulary import Failure
from hokusai_auth.errors import RETRY_AFTER_UNAVAILABLE_S


@dataclass(frozen=True, slots=True)
class Rejection:
    code: Failure
    detail: str
    retry_after: int | None = None
    extra: tuple[tuple[str, str], ...] = ()

    @property
    def status(self) -> int:
        return self.code.status

    @property
    def error(self) -> str:
        return self.code.error


def reject(code: Failure, detail: str | None = None, *, retry_after: int | None = None, **extra: str) -> Rejection:
    return Rejection(code, detail or code.error, retry_after, tuple(extra.items()))


def unavailable(detail: str, retry_after: int = RETRY_AFTER_UNAVAILABLE_S) -> Rejection:
    """A dependency of the decision is down (never a 401: that says nothing about the key)."""
    return reject(Failure.UNAVAILABLE, detail, retry_after=retry_after)
