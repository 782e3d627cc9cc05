"""Finding the caller's credentials in a request: the one extractor the validate endpoint, the embedded
middleware, the gateway and the admin checks all use.

API keys may travel in ``Authorization`` (``Bearer``, ``ApiKey`` or a bare key; ``Basic`` with the key as the
password where MLflow clients need it), ``X-API-Key``, the validate body's ``api_key``, or ``?api_key=`` (any
case). The first place that holds something shaped like a Hokusai key wins, so a caller may authenticate itself
in Authorization with its own credential and still send the key elsewhere. Accepting every place is deliberate:
the 2025-07 incident came from a proxy and this service each supporting only one, and different ones.

A place given twice (two Authorization headers, ``?api_key=A&api_key=B``) is refused with 400 before anything
reads it: components that picked different copies (the first here, the last there) is exactly how a proxy and
the service come to disagree about who is calling.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable

from hokusai._keys import KEY_PREFIX_PATTERN, looks_like_key
from hokusai_auth.web.asgi import Scope, header, query_component, query_values

AUTHORIZATION = b"authorization"
X_API_KEY = b"x-api-key"
QUERY_KEY = "api_key"
KEY_SCHEMES = ("bearer", "apikey", "api-key", "token")
# Every place a credential may travel, and how to name it in a refusal.
CREDENTIAL_HEADERS = {AUTHORIZATION: "Authorization header", X_API_KEY: "X-API-Key header"}


def duplicated_place(scope: Scope) -> str | None:
    """The name of a credential place given more than once, or None."""
    seen: set[bytes] = set()
    for name, _ in scope.get("headers", ()):
        if name in CREDENTIAL_HEADERS:
            if name in seen:
                return CREDENTIAL_HEADERS[name]
            seen.add(name)
    query = scope.get("query_string", b"")
    return duplicated_query_key(query) if query else None


def duplicated_query_key(query_string: bytes) -> str | None:
    """The query's part of the rule: ``api_key`` (in any case) given more than once."""
    if len(query_values(query_string, QUERY_KEY)) > 1:
        return f"{QUERY_KEY} query parameter"
    return None


def bearer_token(scope: Scope) -> str | None:
    """The token of ``Authorization: Bearer <token>`` (admin and service credentials), or None."""
    value = header(scope, AUTHORIZATION)
    if not value:
        return None
    scheme, _, token = value.strip().partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


def jwt_shaped(token: str) -> bool:
    """Three dot-separated parts: what an access token (a JWT) looks like; never an API key or an admin token
    (those have no dots), so it tells the two kinds apart without trying either."""
    return token.count(".") == 2


def _basic_key(value: str) -> str | None:
    scheme, _, encoded = value.strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, _, password = base64.b64decode(encoded.strip(), validate=True).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    for candidate in (password, user):
        if looks_like_key(candidate):
            return candidate
    return None


def key_from_authorization(value: str | None, *, basic: bool = False) -> str | None:
    """The key in an Authorization header, if the header holds one."""
    if not value:
        return None
    if basic:
        key = _basic_key(value)
        if key is not None:
            return key
    value = value.strip()
    scheme, _, rest = value.partition(" ")
    candidate = rest.strip() if scheme.lower() in KEY_SCHEMES else value
    return candidate if looks_like_key(candidate) else None


def first_key(explicit: Iterable[str | None], authorization: str | None, *, basic: bool = False) -> str | None:
    """The key to validate: the Authorization header's if it holds one, else the first key-shaped value of
    ``explicit`` (places that can only mean "this is my API key"). A value there that is not key-shaped still
    counts as an attempt and is returned (it then fails as an invalid key); an Authorization header without a
    key-shaped value is the caller's own credential and is ignored."""
    key = key_from_authorization(authorization, basic=basic)
    if key is not None:
        return key
    first_garbage: str | None = None
    for raw in explicit:
        value = raw.strip() if raw is not None else ""
        if not value:
            continue
        if looks_like_key(value):
            return value
        first_garbage = first_garbage or value
    return first_garbage


def find_key(scope: Scope, *, body_key: str | None = None, basic: bool = False) -> str | None:
    """The API key of a request, from every place it may travel, in the documented order."""
    authorization = x_api_key = None
    for name, value in scope.get("headers", ()):  # one pass for both headers: this runs on every validation
        if name == AUTHORIZATION:
            authorization = value.decode("latin-1")
        elif name == X_API_KEY:
            x_api_key = value.decode("latin-1")
    query = scope.get("query_string", b"")
    query_keys = query_values(query, QUERY_KEY) if query else []
    return first_key((x_api_key, body_key, query_keys[0] if query_keys else None), authorization, basic=basic)


def without_credentials(query_string: bytes) -> bytes:
    """The query minus ``api_key`` (any case) and minus any parameter whose value is shaped like a Hokusai key,
    whatever its name: nothing key-shaped is passed on. Every other parameter is kept byte for byte."""
    if not query_string:
        return b""
    kept = []
    for part in query_string.split(b"&"):
        raw_name, _, raw_value = part.partition(b"=")
        if query_component(raw_name).lower() == QUERY_KEY or KEY_PREFIX_PATTERN.search(query_component(raw_value)):
            continue
        kept.append(part)
    return b"&".join(kept)
