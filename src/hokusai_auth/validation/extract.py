"""Finding the API key in a request, wherever the caller put it.

Places, in order: ``Authorization: Bearer <key>``, ``Authorization: ApiKey <key>`` (or a bare key), ``X-API-Key``,
the JSON body's ``api_key``, the query's ``api_key``. The first place that holds something shaped like a Hokusai
key wins, so a caller may authenticate itself in Authorization with its own credential and still send the key in
the body. Accepting every place is deliberate: the 2025-07 incident came from a proxy and this service each
supporting only one, and different ones.
"""

from __future__ import annotations

from collections.abc import Iterable

from hokusai.keys import looks_like_key

AUTH_SCHEMES = ("bearer", "apikey", "api-key", "token")


def from_authorization(value: str | None) -> str | None:
    """The key in an Authorization header, if the header holds one (Bearer, ApiKey or a bare key)."""
    if not value:
        return None
    value = value.strip()
    scheme, _, rest = value.partition(" ")
    candidate = rest.strip() if scheme.lower() in AUTH_SCHEMES else value
    return candidate if looks_like_key(candidate) else None


def first_key(explicit: Iterable[str | None], authorization: str | None) -> tuple[str | None, bool]:
    """(key, presented): the key to validate and whether anything at all was offered as a key.

    ``explicit`` are places that can only mean "this is my API key" (X-API-Key, body, query). A value there that
    is not key-shaped still counts as an attempt (and fails as an invalid key); an Authorization header that
    does not hold a key-shaped value is assumed to be the caller's own credential and is ignored.
    """
    key = from_authorization(authorization)
    if key is not None:
        return key, True
    presented = False
    first_garbage: str | None = None
    for raw in explicit:
        value = raw.strip() if raw is not None else ""
        if not value:
            continue
        if looks_like_key(value):
            return value, True
        presented = True
        first_garbage = first_garbage or value
    return first_garbage, presented
