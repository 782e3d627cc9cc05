"""EIP-191 signer recovery with real keys: the signer comes back in EIP-55 form; every malformed, out-of-range or
malleable signature (high s), and a signature of another text, is refused with InvalidSignature and a reason; and
as a property, no input raises anything else."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from eth_account import Account
from eth_account.messages import encode_defunct
from eth_account.signers.local import LocalAccount
from eth_keys.backends import get_backend_class
from eth_keys.backends.coincurve import CoinCurveECCBackend
from hypothesis import example, given
from hypothesis import strategies as st

from hokusai_auth.siwe.message import SiweMessage, render
from hokusai_auth.siwe.signature import (
    HALF_N,
    SECP256K1_N,
    InvalidAddress,
    InvalidSignature,
    addresses_equal,
    checksum,
    recover_signer,
    verify_signer,
)

SECP256K1_P = 2**256 - 2**32 - 977
TEXT = "example.com wants you to sign in with your Ethereum account:\n..."


def sign(account: LocalAccount, text: str) -> str:
    return "0x" + bytes(account.sign_message(encode_defunct(text=text)).signature).hex()


def parts(signature: str) -> tuple[int, int, int]:
    raw = bytes.fromhex(signature[2:])
    return int.from_bytes(raw[:32]), int.from_bytes(raw[32:64]), raw[64]


def joined(r: int, s: int, v: int) -> str:
    return "0x" + (r.to_bytes(32, "big") + s.to_bytes(32, "big") + bytes((v,))).hex()


def refused(text: str, signature: Any, reason: str) -> None:
    with pytest.raises(InvalidSignature, match=reason):
        recover_signer(text, signature)


@pytest.fixture
def account() -> LocalAccount:
    created: LocalAccount = Account.create()
    return created


def test_the_signer_of_a_siwe_message_is_recovered_in_eip55_form(account: LocalAccount) -> None:
    text = render(
        SiweMessage(
            domain="auth.example.com",
            address=account.address,
            statement="Sign in to Hokusai",
            uri="https://auth.example.com",
            chain_id=1,
            nonce="a1B2c3D4e5F6g7H8",
            issued_at=datetime(2026, 1, 2, tzinfo=UTC),
        )
    )
    signer = recover_signer(text, sign(account, text))
    assert signer == account.address
    assert signer == checksum(signer)
    assert verify_signer(text, sign(account, text), account.address.lower()) == account.address


def test_many_keys_and_texts_recover_their_signers() -> None:
    for text in ("", "x", "héllo wörld ✓", "line\nline", "a" * 5000):
        signer = Account.create()
        assert recover_signer(text, sign(signer, text)) == signer.address


def test_v_as_0_or_1_and_uppercase_hex_are_read(account: LocalAccount) -> None:
    signature = sign(account, TEXT)
    r, s, v = parts(signature)
    assert recover_signer(TEXT, joined(r, s, v - 27)) == account.address
    assert recover_signer(TEXT, "0x" + signature[2:].upper()) == account.address


def test_a_signature_of_another_text_names_another_signer(account: LocalAccount) -> None:
    other = sign(account, TEXT + " (another text)")
    assert not addresses_equal(recover_signer(TEXT, other), account.address)
    with pytest.raises(InvalidSignature, match="signed by another address"):
        verify_signer(TEXT, other, account.address)
    with pytest.raises(InvalidSignature, match="signed by another address"):
        verify_signer(TEXT, sign(Account.create(), TEXT), account.address)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda sig: sig[:-2], "not 65 bytes"),  # short
        (lambda sig: sig + "00", "not 65 bytes"),  # long
        (lambda sig: sig[:-1], "not 65 bytes"),  # odd length
        (lambda sig: "0x", "not 65 bytes"),
        (lambda sig: sig[:-1] + "g", "not hexadecimal"),
        (lambda sig: sig[:10] + " " + sig[11:], "not hexadecimal"),
        (lambda sig: sig + "\n", "not hexadecimal"),
        (lambda sig: sig[:-1] + "٣", "not hexadecimal"),  # an Arabic-Indic digit: int() would read it
        (lambda sig: sig[2:], "does not start with 0x"),  # missing 0x
        (lambda sig: "0X" + sig[2:], "does not start with 0x"),
        (lambda sig: " " + sig, "does not start with 0x"),
        (lambda sig: "", "does not start with 0x"),
    ],
)
def test_a_malformed_signature_is_refused(account: LocalAccount, change: Any, reason: str) -> None:
    refused(TEXT, change(sign(account, TEXT)), reason)


def test_a_high_s_signature_is_refused_though_it_recovers_the_same_signer(account: LocalAccount) -> None:
    r, s, v = parts(sign(account, TEXT))
    malleated = joined(r, SECP256K1_N - s, 55 - v)  # (r, n - s, v flipped): the other valid signature (EIP-2)
    assert Account.recover_message(encode_defunct(text=TEXT), signature=bytes.fromhex(malleated[2:])) == (
        account.address
    )  # eth-account alone accepts it: the check is ours
    refused(TEXT, malleated, "upper half")
    refused(TEXT, joined(r, HALF_N + 1, v), "upper half")


@pytest.mark.parametrize("v", [2, 26, 29, 35, 37, 255])
def test_a_v_other_than_27_or_28_or_0_or_1_is_refused(account: LocalAccount, v: int) -> None:
    r, s, _ = parts(sign(account, TEXT))
    refused(TEXT, joined(r, s, v), "v is not 27 or 28")


@pytest.mark.parametrize(("r", "s", "reason"), [(0, 1, "r is out of range"), (1, 0, "s is out of range")])
def test_a_zero_r_or_s_is_refused(r: int, s: int, reason: str) -> None:
    refused(TEXT, joined(r, s, 27), reason)


def test_an_r_or_s_of_n_or_more_is_refused(account: LocalAccount) -> None:
    r, s, v = parts(sign(account, TEXT))
    refused(TEXT, joined(SECP256K1_N, s, v), "r is out of range")
    refused(TEXT, joined(2**256 - 1, s, v), "r is out of range")
    refused(TEXT, joined(r, SECP256K1_N, v), "s is out of range")
    refused(TEXT, joined(r, 2**256 - 1, v), "s is out of range")


def test_an_r_that_is_no_point_on_the_curve_recovers_nothing() -> None:
    r = next(x for x in range(1, 100) if pow(x**3 + 7, (SECP256K1_P - 1) // 2, SECP256K1_P) == SECP256K1_P - 1)
    refused(TEXT, joined(r, 1, 27), "recovers no public key")


def test_a_text_that_is_not_text_or_not_unicode_is_refused(account: LocalAccount) -> None:
    signature = sign(account, TEXT)
    anything: Any = b"bytes"
    refused(anything, signature, "message is not text")
    refused("\ud800", signature, "not valid Unicode")
    refused(TEXT, anything, "signature is not text")
    refused(TEXT, None, "signature is not text")


def test_recovery_uses_coincurve() -> None:
    """The pure-Python curve is some thirty times slower: a sign-in would cost milliseconds of CPU."""
    assert get_backend_class() is CoinCurveECCBackend


# ------------------------------------------------------------------------------------------ addresses


def test_addresses_are_equal_whatever_their_case(account: LocalAccount) -> None:
    address = account.address
    assert addresses_equal(address, address.lower())
    assert addresses_equal("0x" + address[2:].upper(), address)
    assert not addresses_equal(address, Account.create().address)
    anything: Any = None
    for malformed in (address[2:], address[:-1], address + "0", "0X" + address[2:], anything, ""):
        assert not addresses_equal(malformed, address)
        assert not addresses_equal(address, malformed)
    assert not addresses_equal("garbage", "garbage")


def test_checksum_spells_an_address_in_eip55(account: LocalAccount) -> None:
    address = account.address
    assert checksum(address.lower()) == address
    assert checksum("0x" + address[2:].upper()) == address
    assert checksum(address) == address
    # The EIP-55 test vectors.
    for vector in ("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359"):
        assert checksum(vector.lower()) == vector


def test_checksum_refuses_a_malformed_address_or_a_broken_checksum(account: LocalAccount) -> None:
    address = account.address
    letter = next(i for i, c in enumerate(address) if c.isalpha() and i > 1)
    with pytest.raises(InvalidAddress, match="not its EIP-55 checksum"):
        checksum(address[:letter] + address[letter].swapcase() + address[letter + 1 :])
    anything: Any = 42
    for malformed in (address[2:], address[:-1], address + "0", "0X" + address[2:], address[:-1] + "g", "", anything):
        with pytest.raises(InvalidAddress, match="not 0x and 40 hex digits"):
            checksum(malformed)
    assert issubclass(InvalidAddress, ValueError)


# ------------------------------------------------------------------------------------------ properties

SIGNATURES = st.one_of(
    st.text(),
    st.text("0123456789abcdefABCDEFxX ", max_size=140).map(lambda tail: "0x" + tail),
    st.binary(min_size=65, max_size=65).map(lambda raw: "0x" + raw.hex()),
    st.tuples(st.integers(0, 2**256 - 1), st.integers(0, 2**256 - 1), st.integers(0, 255)).map(
        lambda rsv: joined(*rsv)
    ),
    st.tuples(st.integers(1, 1000), st.integers(1, HALF_N), st.sampled_from([0, 1, 27, 28])).map(
        lambda rsv: joined(*rsv)
    ),
)


@given(st.text(st.characters(codec=None, exclude_categories=())), SIGNATURES)
@example("\ud800", "0x" + "11" * 65)
@example(TEXT, "0x" + "00" * 65)
def test_recovery_raises_nothing_but_invalid_signature(text: str, signature: str) -> None:
    recovered, reason = None, None
    try:
        recovered = recover_signer(text, signature)
    except InvalidSignature as error:
        reason = error.reason
    if reason is not None:
        assert reason.isascii()
        assert len(reason) <= 100
    else:
        assert recovered is not None
        assert checksum(recovered) == recovered
