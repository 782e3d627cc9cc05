"""The base of every request body model: text the database cannot store never gets past it.

PostgreSQL refuses NUL in text, and UTF-8 cannot encode a lone surrogate (JSON may spell both: ``"\\u0000"``,
``"\\ud800"``). One such value once got into the usage buffer and stopped every usage write. Every string in a
request body, at any depth (lists, objects), is checked here before any other rule runs, so a new field of a new
model is covered by inheriting from this class; a test checks that every body model does.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, field_validator

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def _unstorable(value: Any) -> str | None:
    """What is wrong with ``value`` (a JSON value), or None."""
    if isinstance(value, str):
        match = _UNSTORABLE.search(value)
        if match is None:
            return None
        return "must not contain NUL characters" if match.group() == "\x00" else "must be valid Unicode text"
    if isinstance(value, list | tuple):
        return next((problem for item in value if (problem := _unstorable(item))), None)
    if isinstance(value, dict):
        return next((problem for item in value.items() for part in item if (problem := _unstorable(part))), None)
    return None


class RequestModel(BaseModel):
    @field_validator("*", mode="before")
    @classmethod
    def _storable_text(cls, value: Any) -> Any:
        problem = _unstorable(value)
        if problem is not None:
            raise ValueError(problem)
        return value
