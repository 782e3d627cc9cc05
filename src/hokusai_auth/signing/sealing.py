"""Private signing keys at rest: AES-256-GCM under a key derived from SECRET_KEY, bound to their row's ``kid``.

A database dump alone does not let anyone sign tokens: the private keys in it are sealed, and the sealing key is
derived (HKDF-SHA256, its own ``info``, so it is independent of every other use of SECRET_KEY) from a secret that
is not in the database. The ``kid`` is the associated data, so a sealed key copied into another row does not
unseal there. Sealed text: ``v1.`` + base64url(96-bit random nonce ‖ ciphertext ‖ 128-bit tag).
"""

from __future__ import annotations

import base64
import binascii
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

INFO = b"hokusai signing keys v1"
VERSION = "v1."
NONCE_BYTES = 12


class UnsealError(Exception):
    """A sealed key that cannot be opened: SECRET_KEY is not the one that sealed it, or the row was altered.
    The message names the key and the setting, never a secret."""


def _derive(secret_key: str) -> bytes:
    return HKDF(algorithm=SHA256(), length=32, salt=None, info=INFO).derive(secret_key.encode("utf-8"))


class Sealer:
    def __init__(self, secret_key: str) -> None:
        if not secret_key:
            raise ValueError("SECRET_KEY is empty: signing keys cannot be sealed")
        self._aead = AESGCM(_derive(secret_key))

    def seal(self, data: bytes, *, kid: str) -> str:
        nonce = os.urandom(NONCE_BYTES)
        sealed = nonce + self._aead.encrypt(nonce, data, kid.encode("utf-8"))
        return VERSION + base64.urlsafe_b64encode(sealed).rstrip(b"=").decode("ascii")

    def unseal(self, sealed: str, *, kid: str) -> bytes:
        if not sealed.startswith(VERSION):
            raise UnsealError(f"signing key {kid}: not a sealed key this version can read")
        try:
            raw = base64.urlsafe_b64decode(sealed[len(VERSION) :] + "=" * (-len(sealed) % 4))
        except (binascii.Error, ValueError):
            raise UnsealError(f"signing key {kid}: the sealed key is damaged") from None
        if len(raw) <= NONCE_BYTES + 16:
            raise UnsealError(f"signing key {kid}: the sealed key is damaged")
        try:
            return self._aead.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], kid.encode("utf-8"))
        except InvalidTag:
            raise UnsealError(
                f"signing key {kid} cannot be decrypted with this SECRET_KEY: every instance must run with the "
                "SECRET_KEY that created the signing keys (if it is lost, delete the rows of signing_keys and "
                "restart: a new key is made, and access tokens already issued stop verifying)"
            ) from None
