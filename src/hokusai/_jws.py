"""Hokusai access tokens on the wire: compact JWS (RFC 7515) signed with EdDSA over Ed25519 (RFC 8037), and
nothing else.

Shared by the service (which signs) and the SDK's ``hokusai.tokens`` (which verifies offline). It needs the
``cryptography`` package, so nothing on the SDK's base import path (``import hokusai``, the ``hokusai`` command)
imports it.

Everything an attacker controls is refused unless it is exactly what Hokusai writes: three segments of strict
base64url (no padding, canonical last character), a header of ``alg`` (``EdDSA``, so ``none``, HMAC with the
public key as secret, RS256 and ES256 are all refused before any key is touched), ``kid`` (one of the keys
given) and optionally ``typ`` (``JWT``), and no other parameter: ``crit``, ``b64``, and the key-bearing ``jwk``,
``jku``, ``x5u``, ``x5c`` are refused, never followed. The signature is checked before the payload is parsed.
Reasons in the exceptions are fixed texts: never a part of the token.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
import re
from collections.abc import Callable, Mapping
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from hokusai._vocabulary import TokenFailure

ALGORITHM = "EdDSA"
AUDIENCE = "hokusai"  # the ``aud`` of every access token the service issues
JWKS_PATH = "/.well-known/jwks.json"  # under the issuer (PUBLIC_URL)
MAX_TOKEN_LENGTH = 8192  # ours are ~600 characters; bigger is someone else's token or an attack
# How far ahead of this machine's clock ``nbf`` and ``iat`` may be: the clocks of the issuing and the verifying
# machine disagree a little. ``exp`` gets no leeway: a token is expired at ``exp`` by the verifier's clock.
DEFAULT_LEEWAY_S = 30.0
_SIGNATURE_CHARS = 86  # base64url of 64 bytes, unpadded
_HEADER_PARAMETERS = frozenset({"alg", "kid", "typ"})
# The whole token in one match: three segments of the base64url alphabet; the signature exactly 86 characters,
# the last of which carries 2 unused bits that must be zero (A, Q, g or w).
_COMPACT = re.compile(r"([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]{85}[AQgw])")
# A segment of length 4n+2 (4n+3) ends with a character whose 4 (2) unused low bits are zero, or it has other
# encodings of the same bytes: refused, so each token has one spelling.
_CANONICAL_LAST = {
    0: None,
    2: frozenset("AQgw"),
    3: frozenset("AEIMQUYcgkosw048"),
}
_PADDING = (b"", b"", b"==", b"=")

try:  # a server dependency: three times faster than json, and it refuses NaN and Infinity by itself
    import orjson

    _loads: Callable[[bytes], Any] = orjson.loads
except ImportError:  # pragma: no cover - the SDK without the server extra

    def _refuse_constant(name: str) -> Any:
        raise ValueError(f"{name} is not JSON")

    def _loads(data: bytes) -> Any:
        try:
            return json.loads(data.decode("utf-8"), parse_constant=_refuse_constant)
        except RecursionError:  # a header of thousands of "[": orjson refuses it as too deep, json overflows
            raise ValueError("too deeply nested") from None


class InvalidToken(Exception):
    """The token must not be accepted. ``reason`` is a fixed text, safe to log; ``code`` is the contract's code."""

    code: str = TokenFailure.INVALID

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class UnknownKey(InvalidToken):
    """Well formed, but signed with a key that is not among those given: perhaps a key rotated since they were
    loaded. ``kid`` is the token's (attacker-controlled: compare it, never log or echo it)."""

    def __init__(self, kid: str) -> None:
        super().__init__("signed with an unknown key (kid)")
        self.kid = kid


class ExpiredToken(InvalidToken):
    """Correctly signed and addressed, but past its ``exp``: refresh it. (A token whose ``nbf`` is still ahead
    is an ``InvalidToken``: no client is meant to hold one.)"""

    code: str = TokenFailure.EXPIRED


# ------------------------------------------------------------------------------------------------ base64url


def b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64decode(segment: str) -> bytes:
    """Strict base64url: the alphabet, no padding, canonical. ``InvalidToken`` otherwise."""
    remainder = len(segment) % 4
    if remainder == 1 or not segment.isascii():
        raise InvalidToken("not base64url")
    last = _CANONICAL_LAST[remainder]
    if last is not None and segment[-1] not in last:
        raise InvalidToken("not canonical base64url")
    try:
        standard = segment.encode("ascii").translate(_FROM_URLSAFE) + _PADDING[remainder]
        return binascii.a2b_base64(standard, strict_mode=True)
    except binascii.Error:
        raise InvalidToken("not base64url") from None


# To the standard alphabet; "+", "/" and "=" (standard base64, padding) become "!", which strict mode refuses.
_FROM_URLSAFE = bytes.maketrans(b"-_+/=", b"+/!!!")


# ------------------------------------------------------------------------------------------------ keys (JWK)


def public_bytes(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def thumbprint(key: Ed25519PublicKey) -> str:
    """The RFC 7638 JWK thumbprint (SHA-256, base64url): the ``kid`` the service gives each of its keys."""
    members = f'{{"crv":"Ed25519","kty":"OKP","x":"{b64encode(public_bytes(key))}"}}'
    return b64encode(hashlib.sha256(members.encode("ascii")).digest())


def to_jwk(kid: str, key: Ed25519PublicKey) -> dict[str, str]:
    return {
        "kty": "OKP",
        "crv": "Ed25519",
        "x": b64encode(public_bytes(key)),
        "kid": kid,
        "alg": ALGORITHM,
        "use": "sig",
    }


def from_jwk(jwk: object) -> tuple[str, Ed25519PublicKey] | None:
    """(kid, key) of a published Ed25519 signing key; None for an entry this verifier cannot use (another key
    type or algorithm, an encryption key, a malformed entry), which a verifier skips."""
    if not isinstance(jwk, dict):
        return None
    kid, x = jwk.get("kid"), jwk.get("x")
    if jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519" or not isinstance(kid, str) or not isinstance(x, str):
        return None
    if jwk.get("alg", ALGORITHM) != ALGORITHM or jwk.get("use", "sig") != "sig":
        return None
    try:
        raw = b64decode(x)
    except InvalidToken:
        return None
    if len(raw) != 32:
        return None
    return kid, Ed25519PublicKey.from_public_bytes(raw)


# ------------------------------------------------------------------------------------------------ sign, verify


def sign(claims: Mapping[str, Any], kid: str, private_key: Ed25519PrivateKey) -> str:
    header = b64encode(json.dumps({"alg": ALGORITHM, "kid": kid, "typ": "JWT"}, separators=(",", ":")).encode())
    payload = b64encode(json.dumps(claims, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode())
    signing_input = f"{header}.{payload}"
    return f"{signing_input}.{b64encode(private_key.sign(signing_input.encode('ascii')))}"


# Header segment -> kid, for headers already found valid: every token of one key has the same header, so its
# decoding and checks are done once. Bounded; only headers naming a key that verified a signature get in.
_KNOWN_HEADERS: dict[str, str] = {}
_KNOWN_HEADERS_MAX = 64


def _kid_of(header_segment: str) -> str:
    kid = _KNOWN_HEADERS.get(header_segment)
    if kid is not None:
        return kid
    try:
        header = _loads(b64decode(header_segment))
    except ValueError:  # JSONDecodeError (json, orjson) and UnicodeDecodeError are ValueErrors
        raise InvalidToken("header is not JSON") from None
    if not isinstance(header, dict):
        raise InvalidToken("header is not a JSON object")
    if header.get("alg") != ALGORITHM:
        raise InvalidToken("alg is not EdDSA")
    extra = header.keys() - _HEADER_PARAMETERS
    if extra:
        # crit, b64, jwk, jku, x5u, x5c...: nothing Hokusai writes, so nothing a verifier may act upon.
        raise InvalidToken("header has parameters other than alg, kid and typ")
    if header.get("typ", "JWT") != "JWT":
        raise InvalidToken("typ is not JWT")
    kid = header.get("kid")
    if not isinstance(kid, str):
        raise InvalidToken("header has no kid")
    return kid


def verify(token: str, keys: Mapping[str, Ed25519PublicKey]) -> dict[str, Any]:
    """The claims of ``token`` if it is a well-formed compact JWS signed by one of ``keys`` (by ``kid``);
    ``UnknownKey`` or ``InvalidToken`` otherwise. The claims' values are not checked: ``check_claims`` does."""
    return _verify(token, keys)[2]


def _verify(token: str, keys: Mapping[str, Ed25519PublicKey]) -> tuple[str, Ed25519PublicKey, dict[str, Any]]:
    if not isinstance(token, str) or len(token) > MAX_TOKEN_LENGTH:
        raise InvalidToken("not a token, or too long")
    match = _COMPACT.fullmatch(token)
    if match is None:
        raise InvalidToken(_what_is_wrong(token))
    header_segment, payload_segment, signature_segment = match.groups()
    kid = _kid_of(header_segment)
    key = keys.get(kid)
    if key is None:
        raise UnknownKey(kid)
    signing_input = token[: match.end(2)].encode("ascii")
    try:
        key.verify(b64decode(signature_segment), signing_input)
    except InvalidSignature:
        raise InvalidToken("bad signature") from None
    if len(_KNOWN_HEADERS) < _KNOWN_HEADERS_MAX:
        _KNOWN_HEADERS[header_segment] = kid
    try:
        claims = _loads(b64decode(payload_segment))
    except ValueError:
        raise InvalidToken("payload is not JSON") from None
    if not isinstance(claims, dict):
        raise InvalidToken("payload is not a JSON object")
    return kid, key, claims


def _what_is_wrong(token: str) -> str:
    """Why the token did not match the compact form (the slow path: only for refusals)."""
    parts = token.split(".")
    if len(parts) != 3:
        return "not three segments"
    if any("=" in part for part in parts):
        return "base64url padding"
    if not parts[2]:
        return "no signature"
    if not all(parts) or not all(re.fullmatch(r"[A-Za-z0-9_-]+", part) for part in parts):
        return "not base64url"
    return "signature is not 64 bytes of canonical base64url"


# ------------------------------------------------------------------------------------------------ claims

_REQUIRED_STRINGS = ("iss", "sub", "jti", "sid")
_REQUIRED_TIMES = ("iat", "nbf", "exp")


def check_claims(
    claims: Mapping[str, Any], *, issuer: str, audience: str = AUDIENCE, now: float, leeway_s: float = DEFAULT_LEEWAY_S
) -> None:
    """Raise unless ``claims`` are a Hokusai access token's, for ``audience`` from ``issuer``, valid at ``now``
    (seconds since the epoch): ``ExpiredToken`` at or past ``exp``; ``InvalidToken`` for a missing or ill-typed
    ``iss``, ``sub``, ``aud``, ``iat``, ``nbf``, ``exp``, ``jti``, ``sid`` (times are integers), a wrong
    ``iss`` or ``aud``, an ``nbf`` or ``iat`` more than ``leeway_s`` ahead of ``now``, or a ``wallet_address``
    that is neither a string nor null."""
    for name in _REQUIRED_STRINGS:
        value = claims.get(name)
        if not isinstance(value, str) or not value:
            raise InvalidToken(f"{name} claim missing or not a string")
    for name in _REQUIRED_TIMES:
        value = claims.get(name)
        if type(value) is not int:  # not bool, not float: NumericDates we write are integers
            raise InvalidToken(f"{name} claim missing or not an integer")
    if claims["iss"] != issuer:
        raise InvalidToken("wrong issuer (iss)")
    _check_audience(claims.get("aud"), audience)
    wallet = claims.get("wallet_address")
    if wallet is not None and not isinstance(wallet, str):
        raise InvalidToken("wallet_address claim is not a string")
    if not math.isfinite(now):
        raise ValueError("now must be a finite timestamp")
    if claims["nbf"] > now + leeway_s or claims["iat"] > now + leeway_s:
        raise InvalidToken("not valid yet (nbf or iat ahead of this clock)")
    if now >= claims["exp"]:
        raise ExpiredToken("past its exp")


def _check_audience(aud: object, audience: str) -> None:
    if isinstance(aud, str):
        if aud != audience:
            raise InvalidToken("wrong audience (aud)")
    elif isinstance(aud, list) and aud and all(isinstance(item, str) for item in aud):
        if audience not in aud:
            raise InvalidToken("wrong audience (aud)")
    else:
        raise InvalidToken("aud claim missing or not a string or list of strings")


# ------------------------------------------------------------------------------------------------ verified tokens


class VerifiedTokens:
    """Tokens whose signature was verified, by their exact text: a client presents one access token for many
    requests, and an Ed25519 verification costs 50-300 µs where a lookup costs well under one. Only tokens
    that verified get in, so random tokens cannot fill it; a hit still needs its key among ``keys`` (a key
    dropped from the JWKS drops its tokens), and the caller still checks the claims (``exp``) every time.
    Bounded, least recently used first: a hit moves its token to the back, so the tokens in use stay however
    many others pass through. Safe to share between threads (each step is one dict operation)."""

    def __init__(self, max_entries: int = 4096) -> None:
        self._max = max_entries
        self._entries: dict[str, tuple[str, Ed25519PublicKey, dict[str, Any]]] = {}

    def verify(self, token: str, keys: Mapping[str, Ed25519PublicKey]) -> dict[str, Any]:
        """As ``verify``, answered from memory for a token seen before (a fresh dict each time)."""
        entry = self._entries.get(token)
        if entry is not None:
            kid, key, claims = entry
            if keys.get(kid) is key:
                self._entries.pop(token, None)  # to the back: most recently used
                self._entries[token] = entry
                return dict(claims)
        kid, key, claims = _verify(token, keys)
        if self._max > 0:
            while len(self._entries) >= self._max:
                try:  # another thread may have removed it first
                    del self._entries[next(iter(self._entries))]
                except (KeyError, RuntimeError, StopIteration):
                    break
            self._entries[token] = (kid, key, claims)
        return dict(claims)

    def __len__(self) -> int:
        return len(self._entries)
