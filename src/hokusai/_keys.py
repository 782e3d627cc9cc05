"""The Hokusai API key format, shared by the SDK, the CLI, the auth service and the gateway. Pure, no I/O.

A key is ``hk_<env>_`` + 32 random base62 characters + a 6-character base62 CRC32 of everything before it.
The checksum lets a mistyped or truncated key be caught before any network call or storage lookup, and the fixed
shape lets secret scanners match ``hk_(live|test|dev)_[0-9A-Za-z]{38}``.
"""

from __future__ import annotations

import hmac
import re
import zlib
from dataclasses import dataclass

from hokusai._vocabulary import KEY_TAGS, TAG_ENVIRONMENTS, Environment, choices

BASE62_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
RANDOM_LENGTH = 32
CHECKSUM_LENGTH = 6

TAG_ALTERNATION = "|".join(KEY_TAGS.values())  # live|test|dev, for patterns that look for keys
KEY_PATTERN = re.compile(rf"hk_({TAG_ALTERNATION})_([0-9A-Za-z]{{{RANDOM_LENGTH}}})([0-9A-Za-z]{{{CHECKSUM_LENGTH}}})")
# Anything starting like a Hokusai key counts as "an attempt at a key" when looking for one in a request.
KEY_PREFIX_PATTERN = re.compile(rf"hk_(?:{TAG_ALTERNATION})_")
_TAG_PATTERN = re.compile(rf"hk_({TAG_ALTERNATION})_")
_NOT_A_KEY = f"not a Hokusai API key: keys start with {choices(f'hk_{tag}_' for tag in KEY_TAGS.values())}"


# Every two-character base62 string, in order: the checksum is then three table lookups instead of a loop of
# six divisions (it runs on every validation, before anything else).
_PAIRS: tuple[str, ...] = tuple(a + b for a in BASE62_ALPHABET for b in BASE62_ALPHABET)
_PAIR_BASE = 62 * 62


def base62_6(number: int) -> str:
    """``number`` (0 <= number < 62**6) as six base62 digits, most significant first, '0'-padded."""
    high, rest = divmod(number, _PAIR_BASE * _PAIR_BASE)
    middle, low = divmod(rest, _PAIR_BASE)
    return _PAIRS[high] + _PAIRS[middle] + _PAIRS[low]


def checksum(body: str) -> str:
    """Six base62 characters of CRC32 over the key's body (prefix + random part). 62**6 > 2**32."""
    return base62_6(zlib.crc32(body.encode("ascii")))


@dataclass(frozen=True, slots=True)
class ParsedKey:
    environment: Environment
    random_part: str


def is_well_formed(candidate: str) -> bool:
    """``parse(candidate) is not None``, without building the parts (the validation hot path needs only this)."""
    match = KEY_PATTERN.fullmatch(candidate)
    return match is not None and hmac.compare_digest(checksum(candidate[:-CHECKSUM_LENGTH]), match.group(3))


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


@dataclass(frozen=True, slots=True)
class KeyFormat:
    """What can be told about a string without asking the service."""

    valid: bool
    environment: Environment | None  # when the prefix says
    problem: str | None  # a sentence for people when not valid

    def __bool__(self) -> bool:
        return self.valid


def check_format(key: str) -> KeyFormat:
    """Whether ``key`` is a well-formed Hokusai key (prefix, length, checksum), offline."""
    key = key.strip()
    match = _TAG_PATTERN.match(key)
    if match is None:
        return KeyFormat(False, None, _NOT_A_KEY)
    environment = TAG_ENVIRONMENTS[match.group(1)]
    rest = key[match.end() :]
    expected = RANDOM_LENGTH + CHECKSUM_LENGTH
    if not re.fullmatch(r"[0-9A-Za-z]*", rest):
        return KeyFormat(False, environment, "this key contains characters a Hokusai key never has; check the paste")
    if len(rest) != expected:
        count = f"{len(rest)} character{'' if len(rest) == 1 else 's'}"
        guess = "truncated?" if len(rest) < expected else "something pasted next to it?"
        return KeyFormat(False, environment, f"this key has {count} after the prefix, not {expected}: {guess}")
    if parse(key) is None:
        return KeyFormat(False, environment, "this key looks mistyped: its checksum does not match")
    return KeyFormat(True, environment, None)
