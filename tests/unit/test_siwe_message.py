"""EIP-4361 messages: the EIP's own examples read and written byte for byte, every field's grammar, the attacks a
signed text invites (CR/LF injection, look-alike letters, reordered or repeated fields, oversize input), and as
properties: no input raises anything but InvalidMessage, and a valid message survives render -> parse."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from eth_account import Account
from eth_utils.address import to_checksum_address
from hypothesis import example, given
from hypothesis import strategies as st

from hokusai_auth.siwe.message import (
    MAX_CHAIN_ID,
    MAX_MESSAGE_BYTES,
    InvalidMessage,
    SiweMessage,
    format_time,
    parse,
    parse_time,
    render,
)

EIP_ADDRESS = "0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2"
EIP_BODY = """
0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2

I accept the ExampleOrg Terms of Service: https://example.com/tos

URI: https://example.com/login
Version: 1
Chain ID: 1
Nonce: 32891756
Issued At: 2021-09-30T16:25:24Z
Resources:
- ipfs://bafybeiemxf5abjwjbikoz4mc3a3dla6ual3jsgpdr4cjr3oz3evfyavhwq/
- https://example.com/my-web2-claim.json"""
EIP_EXAMPLES = [
    f"{origin} wants you to sign in with your Ethereum account:{EIP_BODY}"
    for origin in ("example.com", "example.com:3388", "https://example.com")
]
ISSUED = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def message(**changes: Any) -> SiweMessage:
    fields: dict[str, Any] = {
        "domain": "auth.example.com",
        "address": Account.create().address,
        "statement": "Sign in to Hokusai",
        "uri": "https://auth.example.com/api/v1/auth/siwe",
        "chain_id": 1,
        "nonce": "a1B2c3D4e5F6g7H8",
        "issued_at": ISSUED,
    }
    return SiweMessage(**(fields | changes))


def full() -> SiweMessage:
    return message(
        scheme="https",
        expiration_time=ISSUED + timedelta(minutes=5),
        not_before=ISSUED,
        request_id="req-42",
        resources=("https://auth.example.com/keys", "urn:uuid:9a1f6f3c-2b2e-4a8e-9c1e-0c3f9b2f1d44"),
    )


def refused(text: str, reason: str) -> InvalidMessage:
    with pytest.raises(InvalidMessage) as caught:
        parse(text)
    assert re.search(reason, caught.value.reason), caught.value.reason
    return caught.value


# ------------------------------------------------------------------------------------------ the EIP's text


@pytest.mark.parametrize("text", EIP_EXAMPLES)
def test_the_eip_examples_parse_and_render_back_byte_for_byte(text: str) -> None:
    parsed = parse(text)
    assert parsed.address == EIP_ADDRESS
    assert parsed.statement == "I accept the ExampleOrg Terms of Service: https://example.com/tos"
    assert parsed.issued_at == datetime(2021, 9, 30, 16, 25, 24, tzinfo=UTC)
    assert parsed.resources == (
        "ipfs://bafybeiemxf5abjwjbikoz4mc3a3dla6ual3jsgpdr4cjr3oz3evfyavhwq/",
        "https://example.com/my-web2-claim.json",
    )
    assert render(parsed) == text


def test_the_scheme_and_port_are_read_apart_from_the_domain() -> None:
    assert (parse(EIP_EXAMPLES[0]).scheme, parse(EIP_EXAMPLES[0]).domain) == (None, "example.com")
    assert (parse(EIP_EXAMPLES[1]).scheme, parse(EIP_EXAMPLES[1]).domain) == (None, "example.com:3388")
    assert (parse(EIP_EXAMPLES[2]).scheme, parse(EIP_EXAMPLES[2]).domain) == ("https", "example.com")


def test_every_field_renders_in_the_eip_order() -> None:
    value = full()
    assert render(value) == (
        "https://auth.example.com wants you to sign in with your Ethereum account:\n"
        f"{value.address}\n"
        "\n"
        "Sign in to Hokusai\n"
        "\n"
        "URI: https://auth.example.com/api/v1/auth/siwe\n"
        "Version: 1\n"
        "Chain ID: 1\n"
        "Nonce: a1B2c3D4e5F6g7H8\n"
        "Issued At: 2026-01-02T03:04:05Z\n"
        "Expiration Time: 2026-01-02T03:09:05Z\n"
        "Not Before: 2026-01-02T03:04:05Z\n"
        "Request ID: req-42\n"
        "Resources:\n"
        "- https://auth.example.com/keys\n"
        "- urn:uuid:9a1f6f3c-2b2e-4a8e-9c1e-0c3f9b2f1d44"
    )
    assert parse(render(value)) == value


def test_without_a_statement_the_address_is_followed_by_two_empty_lines() -> None:
    value = message(statement=None)
    text = render(value)
    assert f"{value.address}\n\n\nURI: " in text
    assert parse(text) == value


def test_times_render_in_utc_to_the_second_or_the_microsecond() -> None:
    assert format_time(datetime(2026, 1, 2, 5, 4, 5, tzinfo=timezone(timedelta(hours=2)))) == "2026-01-02T03:04:05Z"
    assert format_time(datetime(2026, 1, 2, 3, 4, 5, 120000, tzinfo=UTC)) == "2026-01-02T03:04:05.120000Z"
    assert format_time(datetime(999, 1, 2, tzinfo=UTC)) == "0999-01-02T00:00:00Z"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2021-09-30T16:25:24Z", datetime(2021, 9, 30, 16, 25, 24, tzinfo=UTC)),
        ("2021-09-30t16:25:24z", datetime(2021, 9, 30, 16, 25, 24, tzinfo=UTC)),  # RFC 3339 allows lowercase
        ("2021-09-30T18:25:24.5+02:00", datetime(2021, 9, 30, 16, 25, 24, 500000, tzinfo=UTC)),
        ("2021-09-30T16:25:24.123456789Z", datetime(2021, 9, 30, 16, 25, 24, 123456, tzinfo=UTC)),
        ("2021-09-30T16:25:24-00:00", datetime(2021, 9, 30, 16, 25, 24, tzinfo=UTC)),
        ("2021-09-30T00:25:24-16:00", datetime(2021, 9, 30, 16, 25, 24, tzinfo=UTC)),
    ],
)
def test_any_rfc3339_date_time_is_read_in_utc(text: str, expected: datetime) -> None:
    parsed = parse_time(text, "issued-at")
    assert parsed == expected
    assert parsed.tzinfo is UTC


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("2021-09-30T16:25:24", "with a time zone"),  # naive
        ("2021-09-30 16:25:24Z", "RFC 3339"),
        ("2021-09-30T16:25Z", "RFC 3339"),
        ("2021-9-30T16:25:24Z", "RFC 3339"),
        ("2021-09-30T16:25:24+0200", "RFC 3339"),
        ("2021-09-30T16:25:24.Z", "RFC 3339"),
        ("2021-02-30T16:25:24Z", "not a valid time"),
        ("2021-09-30T24:00:00Z", "not a valid time"),
        ("0000-01-01T00:00:00Z", "not a valid time"),
        ("0001-01-01T00:00:00+01:00", "not a valid time"),  # before year 1 in UTC
        ("9999-12-31T23:59:59-01:00", "not a valid time"),  # after year 9999 in UTC
        ("2016-12-31T23:59:60Z", "leap second"),
        ("2021-09-30T16:25:24+24:00", "offset"),
        ("2021-09-30T16:25:24+02:60", "offset"),
    ],
)
def test_a_time_that_is_not_rfc3339_with_a_zone_is_refused(text: str, reason: str) -> None:
    with pytest.raises(InvalidMessage, match=reason):
        parse_time(text, "issued-at")
    refused(render(full()).replace("Issued At: 2026-01-02T03:04:05Z", f"Issued At: {text}"), reason)


def test_a_message_cannot_be_built_with_a_naive_time() -> None:
    for field in ("issued_at", "expiration_time", "not_before"):
        with pytest.raises(InvalidMessage, match="no time zone"):
            message(**{field: datetime(2026, 1, 1)})  # naive: the point of the test


def test_a_time_whose_utc_form_python_cannot_hold_is_refused_when_built() -> None:
    with pytest.raises(InvalidMessage, match="out of range"):
        message(issued_at=datetime(9999, 12, 31, 23, tzinfo=timezone(timedelta(hours=-5))))


# ------------------------------------------------------------------------------------------ field grammar


@pytest.mark.parametrize(
    "domain",
    [
        "example.com",
        "localhost:8000",
        "127.0.0.1",
        "[::1]:8080",
        "[2001:db8::7]",
        "[v1.fe80::a+en1]",
        "xn--exmple-cua.com",  # punycode is plain ASCII: comparing it with the expected domain is the caller's job
        "user@example.com",  # RFC 3986 authority: the ABNF allows userinfo
    ],
)
def test_a_domain_is_an_rfc3986_authority(domain: str) -> None:
    assert parse(render(message(domain=domain))).domain == domain


@pytest.mark.parametrize(
    ("domain", "reason"),
    [
        ("", "no host"),
        (":443", "no host"),
        ("example.com:", "malformed port"),  # RFC 3986 allows an empty port; one text per origin here
        ("example.com:65536", "malformed port"),
        ("example.com:008080", "malformed port"),
        ("example.com/login", "not an RFC 3986 authority"),
        ("exa mple.com", "not an RFC 3986 authority"),
        ("exаmple.com", "not an RFC 3986 authority"),  # Cyrillic а: never builds, and never parses (non-ASCII)
        ("[::1", "not an RFC 3986 authority"),
        ("[fe80::1%25eth0]", "malformed IP literal"),
        ("[1.2.3.4]", "malformed IP literal"),
        ("a@b@example.com", "not an RFC 3986 authority"),
    ],
)
def test_a_domain_that_is_not_an_authority_is_refused(domain: str, reason: str) -> None:
    with pytest.raises(InvalidMessage, match=reason):
        message(domain=domain)


@pytest.mark.parametrize(
    "uri",
    [
        "https://example.com",
        "https://example.com/a/b?c=d&e=f#g",
        "https://user:pw@[::1]:8443/",
        "urn:uuid:9a1f6f3c-2b2e-4a8e-9c1e-0c3f9b2f1d44",
        "did:pkh:eip155:1:0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2",
        "mailto:someone@example.com",
        "file:///etc/hosts",
        "ipfs://bafybeiemxf5abjwjbikoz4mc3a3dla6ual3jsgpdr4cjr3oz3evfyavhwq/",
        "x:",
        "https://example.com/%7Euser?q=%20",
    ],
)
def test_a_uri_is_an_rfc3986_uri(uri: str) -> None:
    value = message(uri=uri, resources=(uri,))
    assert parse(render(value)) == value


@pytest.mark.parametrize(
    ("uri", "reason"),
    [
        ("example.com/login", "scheme"),
        ("/login", "scheme"),
        ("1http://example.com", "scheme"),
        ("https://example.com/a b", "character"),
        ("https://example.com/%zz", "character"),
        ("https://example.com/<script>", "character"),
        ("https://example.com/#a#b", "character"),
        ('https://example.com/"', "character"),
        ("https://exa mple.com/", "authority"),
        ("https://[::1/", "authority"),
        ("https://example.com/\x00", "character"),
        ("https://example.com/\r\nURI: https://evil.example", "character"),
    ],
)
def test_a_uri_that_is_not_rfc3986_is_refused(uri: str, reason: str) -> None:
    with pytest.raises(InvalidMessage, match=reason):
        message(uri=uri)
    with pytest.raises(InvalidMessage, match=reason):
        message(resources=(uri,))


def test_the_statement_allows_rfc3986_reserved_and_unreserved_characters_and_spaces() -> None:
    statement = "Sign in: terms at https://example.com/tos?v=2#top [ok] (read them!); a+b=c, 'x' *y* ~z $1 & @me"
    assert parse(render(message(statement=statement))).statement == statement


@pytest.mark.parametrize(
    "statement",
    [
        "",  # present but empty: three empty lines would read as no statement, so it is refused
        "line one\nURI: https://evil.example",
        "Sign in\r\nURI: https://evil.example",
        "100% safe",
        'say "yes"',
        "a <b>",
        "tab\there",
        "café",
        "\u202eevil",
    ],
)
def test_a_statement_with_a_character_outside_the_abnf_cannot_be_built(statement: str) -> None:
    with pytest.raises(InvalidMessage, match="statement"):
        message(statement=statement)


# ------------------------------------------------------------------------------------------ attacks


def test_crlf_injected_in_the_statement_is_refused() -> None:
    text = render(message(statement="Sign in"))
    injected = text.replace("Sign in", "Sign in\r\nURI: https://evil.example")
    refused(injected, "carriage return")


def test_lf_injected_in_the_statement_cannot_add_a_field() -> None:
    text = render(message(statement="Sign in"))
    refused(text.replace("Sign in", "Sign in\nURI: https://evil.example"), r"line 5: expected an empty line")


def test_crlf_line_endings_are_refused() -> None:
    refused(render(full()).replace("\n", "\r\n"), "carriage return")
    refused(render(full()).replace("\n", "\r"), "carriage return")


def test_an_extra_line_is_refused() -> None:
    text = render(full())
    refused(text + "\n", "ends with a line break")
    refused(text + "\nHello", "line 17: unexpected line")
    refused(text.replace("Version: 1\n", "Version: 1\n\n"), "line 8: expected Chain ID")
    refused(text.replace("\n\nURI:", "\n\n\nURI:"), "line 6: expected URI")
    refused(text + "\nNonce: a1B2c3D4e5F6g7H8", "Nonce out of place or repeated")
    refused(text.replace("Nonce: ", "Nonce: a1B2c3D4e5F6g7H8\nNonce: "), "Nonce out of place")


def test_a_missing_line_is_refused() -> None:
    text = render(full())
    refused(text.replace("Version: 1\n", ""), "line 7: Chain ID out of place")
    refused(text.split("\nIssued At:")[0], "line 10: Issued At is missing")
    refused(text.replace("Resources:\n", ""), "unexpected line")
    refused(text.split("\n- ")[0], "Resources: has no resource")
    refused(text.replace("Sign in to Hokusai\n\n", "Sign in to Hokusai\n"), "line 5: expected an empty line")
    refused("\n".join(text.split("\n")[:2]), "line 3 is missing")
    refused("", "line 1 is not a Sign-In with Ethereum header")


def test_reordered_fields_are_refused() -> None:
    lines = render(full()).split("\n")

    def swapped(a: int, b: int) -> str:
        moved = list(lines)
        moved[a], moved[b] = moved[b], moved[a]
        return "\n".join(moved)

    refused(swapped(5, 6), "line 6: Version out of place \\(expected URI\\)")
    refused(swapped(7, 8), "Nonce out of place \\(expected Chain ID\\)")
    refused(swapped(10, 11), "Expiration Time out of place or repeated")
    refused(swapped(12, 13), "Request ID out of place or repeated")
    refused(swapped(0, 1), "line 1 is not a Sign-In with Ethereum header")


def test_labels_are_case_sensitive_and_spaced_exactly() -> None:
    text = render(full())
    refused(text.replace("URI: ", "uri: "), "line 6: expected URI")
    refused(text.replace("URI: ", "URI:"), "malformed URI line")
    refused(text.replace("Chain ID: ", "ChainID: "), "expected Chain ID")
    refused(text.replace("wants you to sign in", "wants you to sign  in"), "header")
    refused(text.replace("account:", "account: "), "header")
    refused(text.replace("Resources:", "Resources: "), "line 14: malformed Resources line")
    refused(text.replace("Request ID: ", "Request ID:"), "line 13: malformed Request ID line")
    refused(text.replace("- https", "-https"), "line 15: unexpected line")


@pytest.mark.parametrize(
    ("domain", "reason"),
    [
        ("exаmple.com", "non-ASCII"),  # Cyrillic а
        ("examp1e.com\u200b", "non-ASCII"),  # zero-width space
        ("ｅxample.com", "non-ASCII"),  # fullwidth e
        ("example.com\u202emoc.live", "non-ASCII"),  # right-to-left override
        ("example\u2024com", "non-ASCII"),  # one dot leader
    ],
)
def test_unicode_look_alikes_and_bidi_overrides_are_refused(domain: str, reason: str) -> None:
    text = render(full()).replace("auth.example.com wants", f"{domain} wants")
    refused(text, reason)


def test_bidi_override_and_non_ascii_anywhere_are_refused() -> None:
    text = render(full())
    for marker in ("\u202e", "\u2066", "\u200f", "é", "\ud800", "\U0001f600"):
        refused(text.replace("Sign in", f"Sign{marker} in"), "non-ASCII")
        refused(text.replace("req-42", f"req{marker}42"), "non-ASCII")


@pytest.mark.parametrize(
    ("character", "reason"),
    [("\x00", "NUL"), ("\t", "control character"), ("\x7f", "control character"), ("\x1b", "control character")],
)
def test_nul_and_control_characters_are_refused(character: str, reason: str) -> None:
    text = render(full())
    refused(text.replace("Sign in", f"Sign{character}in"), reason)
    refused(text + character, reason)


def test_a_message_of_4096_bytes_is_read_and_one_byte_more_is_refused() -> None:
    base = render(message(statement="x"))
    padding = MAX_MESSAGE_BYTES - len(base.encode())
    at_limit = base.replace("\nx\n", "\n" + "x" * (1 + padding) + "\n")
    assert len(at_limit.encode()) == MAX_MESSAGE_BYTES
    assert parse(at_limit).statement == "x" * (1 + padding)
    over = at_limit.replace("\nx", "\nxx", 1)
    assert len(over.encode()) == MAX_MESSAGE_BYTES + 1
    refused(over, "longer than 4096 bytes")
    refused("é" * (MAX_MESSAGE_BYTES // 2 + 1), "longer than 4096 bytes")  # the limit counts UTF-8 bytes
    refused("x" * 10_000_000, "longer than 4096 bytes")


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("lower", "not EIP-55 checksummed"),
        ("upper", "not EIP-55 checksummed"),
        ("one letter flipped", "not EIP-55 checksummed"),
        ("0X", "not 0x and 40 hex digits"),
        ("no 0x", "not 0x and 40 hex digits"),
        ("short", "not 0x and 40 hex digits"),
        ("long", "not 0x and 40 hex digits"),
        ("non-hex", "not 0x and 40 hex digits"),
    ],
)
def test_an_address_that_is_not_eip55_is_refused(address: str, reason: str) -> None:
    value = full()
    good = value.address
    flipped = next(i for i, c in enumerate(good) if c.isalpha() and i > 1)
    bad = {
        "lower": "0x" + good[2:].lower(),
        "upper": "0x" + good[2:].upper(),
        "one letter flipped": good[:flipped] + good[flipped].swapcase() + good[flipped + 1 :],
        "0X": "0X" + good[2:],
        "no 0x": good[2:],
        "short": good[:-1],
        "long": good + "a",
        "non-hex": good[:-1] + "g",
    }[address]
    refused(render(value).replace(good, bad), reason)
    with pytest.raises(InvalidMessage, match=reason):
        replace(value, address=bad)


def test_an_address_without_letters_is_its_own_checksum() -> None:
    assert parse(render(message(address="0x" + "1234567890" * 4))).address == "0x" + "1234567890" * 4


@pytest.mark.parametrize("version", ["2", "1 ", " 1", "01", "1.0", "v1", ""])
def test_a_version_other_than_1_is_refused(version: str) -> None:
    refused(render(full()).replace("Version: 1", f"Version: {version}"), "version is not 1")


@pytest.mark.parametrize(
    "chain_id", ["+1", "-1", " 1", "  1", "1 ", "01", "0", "0x1", "1.0", "1e3", "", "9" * 17, "1" * 1000]
)
def test_a_chain_id_that_is_not_plain_digits_in_range_is_refused(chain_id: str) -> None:
    refused(render(full()).replace("Chain ID: 1", f"Chain ID: {chain_id}"), "chain id")


def test_the_largest_chain_id_is_2_to_the_53_less_1() -> None:
    assert parse(render(message(chain_id=MAX_CHAIN_ID))).chain_id == MAX_CHAIN_ID
    refused(render(full()).replace("Chain ID: 1", f"Chain ID: {MAX_CHAIN_ID + 1}"), "chain id is out of range")
    for chain_id in (0, -1, MAX_CHAIN_ID + 1):
        with pytest.raises(InvalidMessage, match="chain id is out of range"):
            message(chain_id=chain_id)
    with pytest.raises(InvalidMessage, match="not an integer"):
        message(chain_id=True)


@pytest.mark.parametrize("nonce", ["short12", "a1B2c3D4 ", "a1B2-c3D4", "a1B2c3D4!", ""])
def test_a_nonce_of_fewer_than_8_alphanumerics_is_refused(nonce: str) -> None:
    refused(render(full()).replace("Nonce: a1B2c3D4e5F6g7H8", f"Nonce: {nonce}"), "nonce")


def test_the_request_id_is_pchars_and_not_empty() -> None:
    text = render(full())
    refused(text.replace("Request ID: req-42", "Request ID: "), "request id")
    refused(text.replace("Request ID: req-42", "Request ID: a b"), "request id")
    refused(text.replace("Request ID: req-42", "Request ID: a/b"), "request id")
    assert parse(text.replace("req-42", "a:b@c!%41")).request_id == "a:b@c!%41"


def test_an_empty_statement_line_is_refused() -> None:
    text = render(message(statement=None))
    refused(text.replace("\n\n\nURI:", "\n\n\n\nURI:"), "line 5: expected URI")


def test_the_scheme_is_an_rfc3986_scheme() -> None:
    text = render(full())
    refused(text.replace("https://auth", "ht tp://auth"), "not an RFC 3986 authority|scheme")
    refused(text.replace("https://auth", "1https://auth"), "scheme")
    refused(text.replace("https://auth", "://auth"), "scheme")
    with pytest.raises(InvalidMessage, match="scheme"):
        message(scheme="")


def test_input_that_is_not_text_is_refused() -> None:
    for value in (b"bytes", None, 42, ["a"]):
        anything: Any = value
        with pytest.raises(InvalidMessage, match="not text"):
            parse(anything)


def test_a_refusal_never_repeats_the_text_it_refuses() -> None:
    marker = "EVILEVILEVIL"
    text = render(full())
    attacks = [
        text.replace("auth.example.com wants", f"{marker}/ wants"),
        text.replace("Sign in", f"Sign\r\n{marker}"),
        text.replace("Nonce: a1B2c3D4e5F6g7H8", f"Nonce: {marker}!"),
        text.replace("req-42", f"{marker} x"),
        text + f"\n{marker}",
        text.replace("URI: https://auth", f"URI: {marker} https://auth"),
        text.replace("Issued At: 2026", f"Issued At: {marker}"),
    ]
    for attack in attacks:
        assert marker not in refused(attack, ".").reason


# ------------------------------------------------------------------------------------------ properties

_STATEMENT_CHARS = "".join(sorted(set("ABCXYZabcxyz0189-._~:/?#[]@!$&'()*+,;= ")))
_PCHAR_CHARS = "abcXYZ019-._~!$&'()*+,;=:@"
ADDRESSES = st.binary(min_size=20, max_size=20).map(lambda raw: str(to_checksum_address("0x" + raw.hex())))
DOMAINS = st.one_of(
    st.from_regex(r"[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?(\.[a-z]{2,8}){0,3}(:[1-9][0-9]{0,3})?", fullmatch=True),
    st.sampled_from(["[::1]:8080", "127.0.0.1", "user:pw@host.example", "[v1.fe]", "a%41b.example"]),
)
URIS = st.one_of(
    st.from_regex(
        r"https://[a-z]{1,12}\.example(:[0-9]{1,5})?(/[a-zA-Z0-9._~!$&'()*+,;=:@%-]{0,10}){0,3}"
        r"(\?[a-z=&/?]{0,10})?(#[a-z/?]{0,5})?",
        fullmatch=True,
    ).filter(lambda uri: re.search(r"%(?![0-9A-Fa-f]{2})", uri) is None),
    st.sampled_from(["urn:uuid:9a1f6f3c-2b2e", "did:pkh:eip155:1:0xabc", "mailto:a@b.example", "file:///etc/x", "x:"]),
)
OFFSETS = st.timedeltas(min_value=timedelta(hours=-23, minutes=-59), max_value=timedelta(hours=23, minutes=59))
TIMES = st.datetimes(
    min_value=datetime(2, 1, 1), max_value=datetime(9998, 12, 31), timezones=st.builds(timezone, OFFSETS)
)
MESSAGES = st.builds(
    SiweMessage,
    scheme=st.none() | st.sampled_from(["https", "http", "web+siwe", "a.b-c"]),
    domain=DOMAINS,
    address=ADDRESSES,
    statement=st.none() | st.text(_STATEMENT_CHARS, min_size=1, max_size=80),
    uri=URIS,
    chain_id=st.integers(1, MAX_CHAIN_ID),
    nonce=st.from_regex(r"[A-Za-z0-9]{8,40}", fullmatch=True),
    issued_at=TIMES,
    expiration_time=st.none() | TIMES,
    not_before=st.none() | TIMES,
    request_id=st.none() | st.text(_PCHAR_CHARS, min_size=1, max_size=30),
    resources=st.lists(URIS, max_size=4).map(tuple),
)


@given(MESSAGES)
def test_every_valid_message_survives_render_and_parse(value: SiweMessage) -> None:
    text = render(value)
    assert parse(text) == value
    assert render(parse(text)) == text


def _never_anything_but_invalid_message(text: str) -> None:
    reason = None
    try:
        parsed = parse(text)
    except InvalidMessage as error:
        reason = error.reason
    if reason is not None:
        assert reason.isascii()
        assert len(reason) <= 100
    else:
        assert parse(render(parsed)) == parsed  # what is accepted has one reading


@given(st.text(st.characters(codec=None, exclude_categories=())))
@example("\ud800")
@example(EIP_EXAMPLES[0] + "\n")
def test_random_text_raises_nothing_but_invalid_message(text: str) -> None:
    _never_anything_but_invalid_message(text)


_LINES = [
    "example.com wants you to sign in with your Ethereum account:",
    "https://example.com wants you to sign in with your Ethereum account:",
    EIP_ADDRESS,
    "",
    "Sign in",
    "URI: https://example.com",
    "Version: 1",
    "Chain ID: 1",
    "Nonce: 32891756",
    "Issued At: 2021-09-30T16:25:24Z",
    "Expiration Time: 2021-09-30T16:25:24Z",
    "Not Before: 2021-09-30T16:25:24Z",
    "Request ID: 1",
    "Resources:",
    "- https://example.com",
]


@given(st.lists(st.sampled_from(_LINES), max_size=20))
def test_random_lines_of_messages_raise_nothing_but_invalid_message(lines: list[str]) -> None:
    _never_anything_but_invalid_message("\n".join(lines))


_NASTY = st.sampled_from(["\r", "\n", "\r\n", "\0", " ", ":", "\t", "\u202e", "а", "é", "%", "\ud800", "-", "0"])
_ANY = st.one_of(_NASTY, st.characters(codec=None, exclude_categories=()))


@given(MESSAGES, st.data())
def test_mutations_of_a_valid_message_raise_nothing_but_invalid_message(
    value: SiweMessage, data: st.DataObject
) -> None:
    text = render(value)
    for _ in range(data.draw(st.integers(1, 4))):
        lines = text.split("\n")
        at = data.draw(st.integers(0, len(text)))
        line = data.draw(st.integers(0, len(lines) - 1))
        operation = data.draw(st.sampled_from(["insert", "delete", "replace", "duplicate", "swap", "drop"]))
        if operation == "insert":
            text = text[:at] + data.draw(_ANY) + text[at:]
        elif operation == "delete":
            text = text[:at] + text[at + data.draw(st.integers(1, 5)) :]
        elif operation == "replace":
            text = text[:at] + data.draw(_ANY) + text[at + 1 :]
        elif operation == "duplicate":
            text = "\n".join([*lines[: line + 1], lines[line], *lines[line + 1 :]])
        elif operation == "swap":
            other = data.draw(st.integers(0, len(lines) - 1))
            lines[line], lines[other] = lines[other], lines[line]
            text = "\n".join(lines)
        else:
            text = "\n".join(lines[:line] + lines[line + 1 :])
    _never_anything_but_invalid_message(text)
