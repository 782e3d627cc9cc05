"""The API key format: generate, parse, checksum, digest. Pure functions, no I/O.

A key is ``hk_<env>_`` + 32 random base62 characters + a 6-character base62 CRC32 of everything before it.
The checksum lets a mistyped or truncated key be refused before any storage is touched, and the fixed shape
lets secret scanners match ``hk_(live|test|dev)_[0-9A-Za-z]{38}``.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import zlib
from dataclasses import dataclass

BASE62_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
RANDOM_LENGTH = 32
CHECKSUM_LENGTH = 6

# environment name (as the API spells it) -> key prefix tag
ENVIRONMENT_TAGS: dict[str, str] = {"production": "live", "test": "test", "development": "dev"}
TAG_ENVIRONMENTS: dict[str, str] = {tag: env for env, tag in ENVIRONMENT_TAGS.items()}

KEY_PATTERN = re.compile(r"hk_(live|test|dev)_([0-9A-Za-z]{32})([0-9A-Za-z]{6})")
# Anything starting like a Hokusai key counts as "an attempt at a key" when looking for one in a request.
KEY_PREFIX_PATTERN = re.compile(r"hk_(?:live|test|dev)_")


def base62(number: int, width: int) -> str:
    """Encode a non-negative integer in base62, left-padded with '0' to ``width``."""
    chars: list[str] = []
    while number:
        number, rem = divmod(number, 62)
        chars.append(BASE62_ALPHABET[rem])
    return "".join(reversed(chars)).rjust(width, "0")


def checksum(body: str) -> str:
    """Six base62 characters of CRC32 over the key's body (prefix + random part). 62**6 > 2**32."""
    return base62(zlib.crc32(body.encode("ascii")), CHECKSUM_LENGTH)


def generate(environment: str) -> str:
    """A new key for ``environment`` (production, test or development) from the OS CSPRNG."""
    tag = ENVIRONMENT_TAGS[environment]
    random_part = "".join(secrets.choice(BASE62_ALPHABET) for _ in range(RANDOM_LENGTH))
    body = f"hk_{tag}_{random_part}"
    return body + checksum(body)


@dataclass(frozen=True, slots=True)
class ParsedKey:
    environment: str
    random_part: str


def parse(candidate: str) -> ParsedKey | None:
    """The key's parts if ``candidate`` is a well-formed key with a correct checksum, else None."""
    match = KEY_PATTERN.fullmatch(candidate)
    if match is None:
        return None
    body_end = len(candidate) - CHECKSUM_LENGTH
    if not hmac.compare_digest(checksum(candidate[:body_end]), match.group(3)):
        return None
    return ParsedKey(environment=TAG_ENVIRONMENTS[match.group(1)], random_part=match.group(2))


def looks_like_key(candidate: str) -> bool:
    """True for anything that starts like a Hokusai key, well-formed or not."""
    return KEY_PREFIX_PATTERN.match(candidate) is not None


def masked_prefix(key: str) -> str:
    """What may be shown of a key: ``hk_live_AbC***`` (environment prefix + 3 random characters)."""
    match = KEY_PATTERN.fullmatch(key)
    if match is None:
        raise ValueError("not a well-formed key")
    return f"hk_{match.group(1)}_{match.group(2)[:3]}***"


class KeyDigester:
    """Keyed HMAC-SHA256 of a key: the indexed lookup value stored instead of the key.

    Keyed so that a copy of the database alone cannot be used to test guesses; the HMAC key is derived from
    SECRET_KEY with a purpose label, so the same master secret can serve other purposes without reuse.
    """

    __slots__ = ("_key",)

    def __init__(self, secret_key: str) -> None:
        self._key = hmac.new(secret_key.encode(), b"hokusai/api-key-lookup/v1", hashlib.sha256).digest()

    def digest(self, key: str) -> str:
        return hmac.new(self._key, key.encode(), hashlib.sha256).hexdigest()
