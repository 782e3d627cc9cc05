"""Who signed a text: EIP-191 ``personal_sign`` recovery, strict about the signature's form, and address helpers.

A signature is ``0x`` and 130 hex digits (65 bytes: r, s, v). v is 27 or 28 (0 or 1, as some hardware wallets
send it, is read as 27 or 28). r and s lie in [1, n - 1] and s in the lower half (EIP-2): for every signature
(r, s, v) the pair (r, n - s, v ^ 1) recovers the same address, and accepting both would give one sign-in two
valid signatures. Anything else raises ``InvalidSignature``; nothing else is raised, whatever the input.

eth-account recovers through eth-keys, which uses coincurve (libsecp256k1) when it is installed and a pure-Python
curve otherwise, some thirty times slower (several ms of CPU per sign-in): ``bench/siwe.py`` prints which backend
is in use and both costs.
"""

from __future__ import annotations

import re

from eth_account import Account
from eth_account.messages import encode_defunct
from eth_keys.exceptions import BadSignature
from eth_utils.address import to_checksum_address
from eth_utils.exceptions import ValidationError

SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
HALF_N = SECP256K1_N // 2

_SIGNATURE = re.compile(r"0x[0-9A-Fa-f]{130}", re.ASCII)
_HEX = re.compile(r"[0-9A-Fa-f]*", re.ASCII)
_ADDRESS = re.compile(r"0x[0-9A-Fa-f]{40}", re.ASCII)


class InvalidSignature(ValueError):
    """A signature that is malformed or recovers no signer (or not the expected one). ``reason`` says what is wrong
    in a few words and never repeats the offending text."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class InvalidAddress(ValueError):
    """Not an Ethereum address: ``0x`` and 40 hex digits, all one case or EIP-55 mixed case."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _signature_bytes(signature: object) -> bytes:
    """The 65 bytes r || s || v with v as 27 or 28, after every check of form and range."""
    if not isinstance(signature, str):
        raise InvalidSignature("signature is not text")
    if not _SIGNATURE.fullmatch(signature):
        if not signature.startswith("0x"):
            raise InvalidSignature("signature does not start with 0x")
        if not _HEX.fullmatch(signature[2:]):
            raise InvalidSignature("signature is not hexadecimal")
        raise InvalidSignature("signature is not 65 bytes (0x and 130 hex digits)")
    raw = bytes.fromhex(signature[2:])
    r, s, v = int.from_bytes(raw[:32]), int.from_bytes(raw[32:64]), raw[64]
    if v in (0, 1):
        v += 27
    elif v not in (27, 28):
        raise InvalidSignature("signature's v is not 27 or 28 (or 0 or 1)")
    if not 0 < r < SECP256K1_N:
        raise InvalidSignature("signature's r is out of range")
    if not 0 < s < SECP256K1_N:
        raise InvalidSignature("signature's s is out of range")
    if s > HALF_N:
        raise InvalidSignature("signature's s is in the upper half (EIP-2 requires low s)")
    return raw[:64] + bytes((v,))


def recover_signer(text: str, signature: str) -> str:
    """The EIP-55 address whose key signed ``text`` as an EIP-191 personal message (``personal_sign``)."""
    standard = _signature_bytes(signature)
    if not isinstance(text, str):
        raise InvalidSignature("message is not text")
    try:
        message = encode_defunct(text=text)
    except UnicodeEncodeError:  # a lone surrogate has no UTF-8 form, so no wallet can have signed it
        raise InvalidSignature("message is not valid Unicode") from None
    try:
        return str(Account.recover_message(message, signature=standard))
    except (BadSignature, ValidationError):
        raise InvalidSignature("signature recovers no public key") from None


def verify_signer(text: str, signature: str, address: str) -> str:
    """``recover_signer``, and InvalidSignature unless the signer is ``address`` (in any case)."""
    signer = recover_signer(text, signature)
    if not addresses_equal(signer, address):
        raise InvalidSignature("signed by another address")
    return signer


def addresses_equal(a: str, b: str) -> bool:
    """Whether two ``0x`` + 40 hex addresses are the same account, whatever their case. A malformed address equals
    nothing. Not constant-time: addresses are public."""
    return (
        isinstance(a, str)
        and isinstance(b, str)
        and _ADDRESS.fullmatch(a) is not None
        and _ADDRESS.fullmatch(b) is not None
        and a.lower() == b.lower()
    )


def checksum(address: str) -> str:
    """The EIP-55 spelling of ``address``. Accepts all-lowercase, all-uppercase (hex letters) and correct mixed
    case; a mixed case that is not the checksum is a typo, and like anything else malformed raises
    InvalidAddress."""
    if not isinstance(address, str) or not _ADDRESS.fullmatch(address):
        raise InvalidAddress("address is not 0x and 40 hex digits")
    checksummed = str(to_checksum_address(address))
    digits = address[2:]
    if digits not in (digits.lower(), digits.upper()) and address != checksummed:
        raise InvalidAddress("address has mixed case that is not its EIP-55 checksum")
    return checksummed
