"""Issuing keys and computing their lookup digest. The format itself (parse, checksum) is ``hokusai._keys``,
shared with the SDK so that client and service always agree on what a well-formed key is."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from hokusai._keys import BASE62_ALPHABET, RANDOM_LENGTH, checksum
from hokusai._vocabulary import KEY_TAGS, Environment


def generate(environment: str) -> str:
    """A new key for ``environment`` (an ``Environment`` value) from the OS CSPRNG."""
    tag = KEY_TAGS[Environment(environment)]
    random_part = "".join(secrets.choice(BASE62_ALPHABET) for _ in range(RANDOM_LENGTH))
    body = f"hk_{tag}_{random_part}"
    return body + checksum(body)


class KeyDigester:
    """Keyed HMAC-SHA256 of a key: the indexed lookup value stored instead of the key.

    Keyed so that a copy of the database alone cannot be used to test guesses; the HMAC key is derived from
    SECRET_KEY with a purpose label, so the same master secret can serve other purposes without reuse.
    """

    __slots__ = ("_keyed",)

    def __init__(self, secret_key: str) -> None:
        lookup_key = hmac.new(secret_key.encode(), b"hokusai/api-key-lookup/v1", hashlib.sha256).digest()
        # Keyed once: copying a keyed HMAC skips re-deriving the inner and outer pads on every validation.
        self._keyed = hmac.new(lookup_key, digestmod=hashlib.sha256)

    def digest(self, key: str) -> str:
        mac = self._keyed.copy()
        mac.update(key.encode())
        return mac.hexdigest()
