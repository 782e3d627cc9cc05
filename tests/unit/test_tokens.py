import random
import re
import zlib

import pytest

from hokusai import _keys as key_format
from hokusai_auth.keys import tokens

SCANNER = re.compile(r"hk_(live|test|dev)_[0-9A-Za-z]{38}")


@pytest.mark.parametrize(("environment", "tag"), [("production", "live"), ("test", "test"), ("development", "dev")])
def test_generated_keys_have_the_documented_shape(environment: str, tag: str) -> None:
    key = tokens.generate(environment)
    assert key.startswith(f"hk_{tag}_")
    assert SCANNER.fullmatch(key), "secret scanners match keys with the documented pattern"
    parsed = key_format.parse(key)
    assert parsed is not None
    assert parsed.environment == environment


def test_keys_are_random() -> None:
    keys = {tokens.generate("production") for _ in range(1000)}
    assert len(keys) == 1000


def test_every_single_character_typo_is_caught_by_the_checksum() -> None:
    key = tokens.generate("production")
    body_start = len("hk_live_")
    for position in range(body_start, len(key)):
        for replacement in "0aZ":
            if key[position] == replacement:
                continue
            typo = key[:position] + replacement + key[position + 1 :]
            assert key_format.parse(typo) is None, f"typo at {position} accepted"


def test_transposed_characters_are_caught() -> None:
    key = tokens.generate("test")
    for position in range(len("hk_test_"), len(key) - 1):
        if key[position] != key[position + 1]:
            swapped = key[:position] + key[position + 1] + key[position] + key[position + 2 :]
            assert key_format.parse(swapped) is None


@pytest.mark.parametrize(
    "candidate",
    ["", "hk_live_", "hk_prod_" + "a" * 38, "hk_live_" + "a" * 32, "hk_live_" + "a" * 39, "xhk_live_" + "a" * 38],
)
def test_malformed_keys_do_not_parse(candidate: str) -> None:
    assert key_format.parse(candidate) is None


def test_old_unchecksummed_keys_from_the_documents_are_refused() -> None:
    assert key_format.parse("hk_live_chnn8EMMos4Lcwj3i3C3JeAkoNoDcOWL") is None
    assert key_format.looks_like_key("hk_live_chnn8EMMos4Lcwj3i3C3JeAkoNoDcOWL")


def test_masked_prefix_shows_environment_and_three_characters() -> None:
    key = tokens.generate("production")
    assert key_format.masked_prefix(key) == key[: len("hk_live_") + 3] + "***"


def _reference_base62(number: int) -> str:
    digits = ""
    while number:
        number, rem = divmod(number, 62)
        digits = key_format.BASE62_ALPHABET[rem] + digits
    return digits.rjust(6, "0")


def test_checksum_is_six_base62_characters_even_for_small_crcs() -> None:
    assert key_format.base62_6(0) == "000000"
    assert key_format.base62_6(61) == "00000z"
    assert key_format.base62_6(62) == "000010"
    for number in (2**32 - 1, 62**4, 62**4 - 1, 62**2, 3843, *random.Random(7).sample(range(2**32), 2000)):
        assert key_format.base62_6(number) == _reference_base62(number), number


def test_checksums_of_existing_keys_do_not_change() -> None:
    # A key issued before this implementation must still parse: the encoding is part of the format.
    body = "hk_live_" + "AbC" * 10 + "xy"
    assert key_format.checksum(body) == _reference_base62(zlib.crc32(body.encode()))


def test_digest_is_keyed_by_the_secret() -> None:
    key = tokens.generate("production")
    one = tokens.KeyDigester("a" * 40).digest(key)
    assert one == tokens.KeyDigester("a" * 40).digest(key)
    assert one != tokens.KeyDigester("b" * 40).digest(key)
    assert key not in one


def test_check_format_explains_what_is_wrong_offline() -> None:
    key = tokens.generate("test")
    good = key_format.check_format(f"  {key}\n")
    assert good
    assert good.environment == "test"
    assert good.problem is None
    assert "start with hk_live_" in str(key_format.check_format("sk_live_abc").problem)
    truncated = key_format.check_format(key[:-3])
    assert not truncated
    assert truncated.environment == "test"
    assert "truncated" in str(truncated.problem)
    typo = key[:-1] + ("a" if key[-1] != "a" else "b")
    assert "mistyped" in str(key_format.check_format(typo).problem)
    assert "characters" in str(key_format.check_format(key[:-1] + "!").problem)
