"""EIP-4361 (Sign-In with Ethereum) messages: the value, its exact text, and a strict parser of that text.

Pure and I/O-free. ``parse`` accepts the language of the EIP's ABNF (https://eips.ethereum.org/EIPS/eip-4361),
line by line, and raises ``InvalidMessage`` for anything else, whatever the input: the text is signed by the user
and read by the service, so two readings of one text must not exist. Before any structure is looked at, the text
must be at most ``MAX_MESSAGE_BYTES`` of UTF-8, ASCII only (the ABNF admits nothing else, which also rules out
look-alike letters and bidi overrides) and free of control characters other than LF (a CR is CR/LF injection).

Where the ABNF admits a form that is ambiguous or meaningless, the parser is stricter, so that each message has one
text (``parse(render(m)) == m``):

- a field that is present is not empty: no empty statement (a fourth blank line), no empty ``Request ID:``, no
  ``Resources:`` line without a resource under it; no trailing LF;
- the domain has a host, and a port, if it has a colon, of 1 to 5 digits up to 65535;
- the address starts with a lowercase ``0x`` and carries its EIP-55 checksum (the ABNF requires it for EOAs, the
  only accounts an EIP-191 signature can sign for), so an all-lowercase or all-uppercase address is refused;
- the chain id is 1 to 2**53 - 1 without leading zeros;
- times: a leap second (``:60``) and year 0000 are refused (Python cannot represent them); fractions of a second
  beyond microseconds are cut to microseconds.

``render`` writes times in UTC as ``YYYY-MM-DDTHH:MM:SSZ``, with ``.ffffff`` (microseconds) before the ``Z`` only
when the time has a fraction of a second, so that no instant is lost; ``parse`` accepts any RFC 3339 date-time and
returns it in UTC. A ``SiweMessage`` checks its fields when it is built, so every value renders to a text that
parses back to it.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

from eth_utils.address import is_checksum_address

MAX_MESSAGE_BYTES = 4096
MAX_CHAIN_ID = 2**53 - 1  # the largest integer every JSON reader (JavaScript's Number) holds exactly

HEADER_SUFFIX = " wants you to sign in with your Ethereum account:"
RESOURCES = "Resources:"


class InvalidMessage(ValueError):
    """A text that is not an EIP-4361 message, or a field that cannot be in one. ``reason`` says what is wrong in a
    few words and never repeats the offending text."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# ------------------------------------------------------------------------------------- RFC 3986 pieces

_UNRESERVED = r"A-Za-z0-9._~\-"
_SUB_DELIMS = "!$&'()*+,;="
_PCT = "%[0-9A-Fa-f]{2}"
_PCHAR = f"(?:[{_UNRESERVED}{_SUB_DELIMS}:@]|{_PCT})"
_SEGMENTS = f"{_PCHAR}*(?:/{_PCHAR}*)*"

_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*", re.ASCII)
_AUTHORITY = re.compile(
    rf"(?:(?:[{_UNRESERVED}{_SUB_DELIMS}:]|{_PCT})*@)?"  # userinfo
    rf"(?P<host>\[(?P<literal>[^\]]*)\]|(?:[{_UNRESERVED}{_SUB_DELIMS}]|{_PCT})*)"  # IP-literal / reg-name
    r"(?::(?P<port>[0-9]*))?",
    re.ASCII,
)
_IPV_FUTURE = re.compile(rf"[vV][0-9A-Fa-f]+\.[{_UNRESERVED}{_SUB_DELIMS}:]+", re.ASCII)
_IPV6_CHARS = re.compile(r"[0-9A-Fa-f:.]+", re.ASCII)
_PATH = re.compile(_SEGMENTS, re.ASCII)  # path-abempty, path-absolute and path-rootless, once "//" is ruled out
_QUERY_OR_FRAGMENT = re.compile(f"(?:{_PCHAR}|[/?])*", re.ASCII)
_PCHARS = re.compile(f"{_PCHAR}+", re.ASCII)

# ------------------------------------------------------------------------------------- EIP-4361 fields

_ADDRESS = re.compile(r"0x[0-9A-Fa-f]{40}", re.ASCII)
_STATEMENT = re.compile(rf"[{_UNRESERVED}:/?#\[\]@{_SUB_DELIMS} ]+", re.ASCII)  # reserved / unreserved / " "
_NONCE = re.compile(r"[A-Za-z0-9]{8,}", re.ASCII)
_CHAIN_ID = re.compile(r"[1-9][0-9]{0,15}", re.ASCII)
_DATE_TIME = re.compile(
    r"(?P<year>[0-9]{4})-(?P<month>[0-9]{2})-(?P<day>[0-9]{2})[Tt]"
    r"(?P<hour>[0-9]{2}):(?P<minute>[0-9]{2}):(?P<second>[0-9]{2})(?:\.(?P<fraction>[0-9]+))?"
    r"(?:[Zz]|(?P<sign>[+-])(?P<offset_hour>[0-9]{2}):(?P<offset_minute>[0-9]{2}))",
    re.ASCII,
)
_FORBIDDEN = re.compile(r"[^\n\x20-\x7e]")  # after the ASCII check: control characters other than LF, and DEL


def _require_text(value: object, field: str) -> str:
    if not isinstance(value, str):
        raise InvalidMessage(f"{field} is not text")
    return value


def _check_authority(value: str, field: str, *, host_required: bool) -> None:
    match = _AUTHORITY.fullmatch(value)
    if match is None:
        raise InvalidMessage(f"{field} is not an RFC 3986 authority")
    literal = match["literal"]
    if literal is not None and not _IPV_FUTURE.fullmatch(literal):
        try:
            if not _IPV6_CHARS.fullmatch(literal):  # also refuses a zone id, which RFC 3986 does not have
                raise ValueError
            ipaddress.IPv6Address(literal)
        except ValueError:
            raise InvalidMessage(f"{field} has a malformed IP literal") from None
    if host_required and not match["host"]:
        raise InvalidMessage(f"{field} has no host")
    port = match["port"]
    if host_required and port is not None and not (len(port) <= 5 and port and int(port) <= 65535):
        raise InvalidMessage(f"{field} has a malformed port")


def check_uri(value: str, field: str = "uri") -> None:
    """RFC 3986 ``URI``: scheme ":" hier-part [ "?" query ] [ "#" fragment ]; InvalidMessage otherwise."""
    scheme, colon, rest = _require_text(value, field).partition(":")
    if not colon or not _SCHEME.fullmatch(scheme):
        raise InvalidMessage(f"{field} is not a URI with a scheme")
    rest, hash_sign, fragment = rest.partition("#")
    rest, question_mark, query = rest.partition("?")
    if (hash_sign and not _QUERY_OR_FRAGMENT.fullmatch(fragment)) or (
        question_mark and not _QUERY_OR_FRAGMENT.fullmatch(query)
    ):
        raise InvalidMessage(f"{field} has a character a URI cannot have")
    if rest.startswith("//"):
        authority, slash, path = rest[2:].partition("/")
        _check_authority(authority, field, host_required=False)
        rest = slash + path
    if not _PATH.fullmatch(rest):
        raise InvalidMessage(f"{field} has a character a URI cannot have")


def check_address(value: str) -> None:
    """``0x`` and 40 hex digits in EIP-55 mixed case; InvalidMessage otherwise."""
    if not _ADDRESS.fullmatch(_require_text(value, "address")):
        raise InvalidMessage("address is not 0x and 40 hex digits")
    if not is_checksum_address(value):
        raise InvalidMessage("address is not EIP-55 checksummed")


def _check_aware(value: object, field: str) -> datetime:
    if not isinstance(value, datetime):
        raise InvalidMessage(f"{field} is not a datetime")
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidMessage(f"{field} has no time zone")
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise InvalidMessage(f"{field} is out of range") from None


# ------------------------------------------------------------------------------------- the value


@dataclass(frozen=True, slots=True, kw_only=True)
class SiweMessage:
    """One sign-in request, field by field as EIP-4361 names them. Built only with valid fields (InvalidMessage
    otherwise), so ``render`` cannot fail. ``address`` keeps the EIP-55 spelling it was given."""

    domain: str
    address: str
    uri: str
    chain_id: int
    nonce: str
    issued_at: datetime
    statement: str | None = None
    version: str = "1"
    expiration_time: datetime | None = None
    not_before: datetime | None = None
    request_id: str | None = None
    resources: tuple[str, ...] = ()
    scheme: str | None = None

    def __post_init__(self) -> None:
        if self.scheme is not None and not _SCHEME.fullmatch(_require_text(self.scheme, "scheme")):
            raise InvalidMessage("scheme is not an RFC 3986 scheme")
        _check_authority(_require_text(self.domain, "domain"), "domain", host_required=True)
        check_address(self.address)
        if self.statement is not None and not _STATEMENT.fullmatch(_require_text(self.statement, "statement")):
            raise InvalidMessage("statement is empty or has a character EIP-4361 does not allow")
        check_uri(self.uri)
        if self.version != "1":
            raise InvalidMessage("version is not 1")
        if isinstance(self.chain_id, bool) or not isinstance(self.chain_id, int):
            raise InvalidMessage("chain id is not an integer")
        if not 1 <= self.chain_id <= MAX_CHAIN_ID:
            raise InvalidMessage("chain id is out of range")
        if not _NONCE.fullmatch(_require_text(self.nonce, "nonce")):
            raise InvalidMessage("nonce is not 8 or more letters and digits")
        _check_aware(self.issued_at, "issued-at")
        if self.expiration_time is not None:
            _check_aware(self.expiration_time, "expiration-time")
        if self.not_before is not None:
            _check_aware(self.not_before, "not-before")
        if self.request_id is not None and not _PCHARS.fullmatch(_require_text(self.request_id, "request id")):
            raise InvalidMessage("request id is empty or has a character EIP-4361 does not allow")
        if not isinstance(self.resources, tuple):
            raise InvalidMessage("resources is not a tuple")
        for resource in self.resources:
            check_uri(resource, "resource")


# ------------------------------------------------------------------------------------- text


def format_time(value: datetime) -> str:
    """RFC 3339 in UTC: ``YYYY-MM-DDTHH:MM:SSZ``, with ``.ffffff`` only when there is a fraction of a second."""
    utc = _check_aware(value, "time")
    fraction = f".{utc.microsecond:06d}" if utc.microsecond else ""
    day = f"{utc.year:04d}-{utc.month:02d}-{utc.day:02d}"  # strftime's %Y does not pad years before 1000
    return f"{day}T{utc.hour:02d}:{utc.minute:02d}:{utc.second:02d}{fraction}Z"


def parse_time(text: str, field: str) -> datetime:
    """An RFC 3339 ``date-time`` (an offset or Z is part of the grammar), in UTC; InvalidMessage otherwise."""
    match = _DATE_TIME.fullmatch(text)
    if match is None:
        raise InvalidMessage(f"{field} is not an RFC 3339 date-time with a time zone")
    if match["second"] == "60":
        raise InvalidMessage(f"{field} is a leap second")
    offset_hour, offset_minute = int(match["offset_hour"] or 0), int(match["offset_minute"] or 0)
    if offset_hour > 23 or offset_minute > 59:
        raise InvalidMessage(f"{field} has a malformed time zone offset")
    offset = timedelta(hours=offset_hour, minutes=offset_minute)
    try:
        value = datetime(
            int(match["year"]), int(match["month"]), int(match["day"]),
            int(match["hour"]), int(match["minute"]), int(match["second"]),
            int((match["fraction"] or "0")[:6].ljust(6, "0")),
            tzinfo=timezone(-offset if match["sign"] == "-" else offset),
        )  # fmt: skip
        return value.astimezone(UTC)
    except (ValueError, OverflowError):
        raise InvalidMessage(f"{field} is not a valid time") from None


def render(message: SiweMessage) -> str:
    """The exact EIP-4361 text of ``message`` (LF line ends, no final LF): what the wallet shows and signs."""
    origin = f"{message.scheme}://{message.domain}" if message.scheme is not None else message.domain
    lines = [origin + HEADER_SUFFIX, message.address, ""]
    if message.statement is not None:
        lines.append(message.statement)
    lines += [
        "",
        f"URI: {message.uri}",
        f"Version: {message.version}",
        f"Chain ID: {message.chain_id}",
        f"Nonce: {message.nonce}",
        f"Issued At: {format_time(message.issued_at)}",
    ]
    if message.expiration_time is not None:
        lines.append(f"Expiration Time: {format_time(message.expiration_time)}")
    if message.not_before is not None:
        lines.append(f"Not Before: {format_time(message.not_before)}")
    if message.request_id is not None:
        lines.append(f"Request ID: {message.request_id}")
    if message.resources:
        lines.append(RESOURCES)
        lines += [f"- {resource}" for resource in message.resources]
    return "\n".join(lines)


_REQUIRED = ("URI", "Version", "Chain ID", "Nonce", "Issued At")
_OPTIONAL = ("Expiration Time", "Not Before", "Request ID")
_LABELS = (*_REQUIRED, *_OPTIONAL, "Resources")


class _Lines:
    """The message's lines and a cursor, with refusals that name the line (1-based) but never quote it."""

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines
        self.index = 0

    def peek(self) -> str | None:
        return self.lines[self.index] if self.index < len(self.lines) else None

    def take(self) -> str:
        line = self.peek()
        if line is None:
            raise InvalidMessage(f"line {self.index + 1} is missing")
        self.index += 1
        return line

    def blank(self) -> None:
        line = self.take()
        if line != "":
            found = _label_of(line)
            seen = f" (found {found})" if found is not None else ""
            raise InvalidMessage(f"line {self.index}: expected an empty line{seen}")

    def field(self, label: str) -> str:
        line = self.peek()
        if line is None:
            raise InvalidMessage(f"line {self.index + 1}: {label} is missing")
        prefix = f"{label}: "
        if not line.startswith(prefix):
            found = _label_of(line)
            if found == label:
                raise InvalidMessage(f"line {self.index + 1}: malformed {label} line")
            if found is not None:
                raise InvalidMessage(f"line {self.index + 1}: {found} out of place (expected {label})")
            raise InvalidMessage(f"line {self.index + 1}: expected {label}")
        self.index += 1
        return line[len(prefix) :]


def _label_of(line: str) -> str | None:
    for label in _LABELS:
        if line.startswith(f"{label}:"):
            return label
    return None


def _check_characters(text: object) -> str:
    if not isinstance(text, str):
        raise InvalidMessage("message is not text")
    if len(text) > MAX_MESSAGE_BYTES or len(text.encode("utf-8", "surrogatepass")) > MAX_MESSAGE_BYTES:
        raise InvalidMessage(f"message is longer than {MAX_MESSAGE_BYTES} bytes")
    if not text.isascii():
        raise InvalidMessage("message has a non-ASCII character")
    forbidden = _FORBIDDEN.search(text)
    if forbidden is not None:
        character = forbidden.group()
        if character == "\r":
            raise InvalidMessage("message has a carriage return (CR); lines end with LF only")
        if character == "\0":
            raise InvalidMessage("message has a NUL character")
        raise InvalidMessage("message has a control character")
    return text


def _read_origin(lines: _Lines) -> tuple[str | None, str]:
    """Line 1: the scheme (or None) and the domain, checked by SiweMessage."""
    header = lines.take()
    if not header.endswith(HEADER_SUFFIX):
        raise InvalidMessage("line 1 is not a Sign-In with Ethereum header")
    origin = header[: -len(HEADER_SUFFIX)]
    scheme, separator, domain = origin.partition("://")
    if not separator:
        return None, origin
    if not _SCHEME.fullmatch(scheme):
        raise InvalidMessage("line 1: scheme is not an RFC 3986 scheme")
    return scheme, domain


def _read_optional(lines: _Lines) -> tuple[dict[str, str], tuple[str, ...]]:
    """The optional fields after Issued At, each at most once and in the EIP's order, then the resources."""
    optional: dict[str, str] = {}
    for label in _OPTIONAL:
        line = lines.peek()
        if line is not None and line.startswith(f"{label}:"):
            optional[label] = lines.field(label)
    resources: list[str] = []
    if (line := lines.peek()) is not None and line.startswith(RESOURCES):
        if lines.take() != RESOURCES:
            raise InvalidMessage(f"line {lines.index}: malformed Resources line")
        while (line := lines.peek()) is not None and line.startswith("- "):
            resources.append(lines.take()[2:])
        if not resources and lines.peek() is None:
            raise InvalidMessage("Resources: has no resource under it")
    extra = lines.peek()
    if extra is not None:
        where = f"line {lines.index + 1}"
        if extra == "" and lines.index + 1 == len(lines.lines):
            raise InvalidMessage(f"{where}: the message ends with a line break")
        found = _label_of(extra)
        if found is not None:
            raise InvalidMessage(f"{where}: {found} out of place or repeated")
        raise InvalidMessage(f"{where}: unexpected line")
    return optional, tuple(resources)


def parse(text: str) -> SiweMessage:
    """The EIP-4361 message in ``text``; InvalidMessage (and nothing else) for any other input."""
    lines = _Lines(_check_characters(text).split("\n"))
    scheme, domain = _read_origin(lines)
    address = lines.take()
    lines.blank()
    statement: str | None = lines.take()
    if statement:
        lines.blank()
    else:
        statement = None
    uri, version, chain_id, nonce, issued_at = (lines.field(label) for label in _REQUIRED)
    if not _CHAIN_ID.fullmatch(chain_id):
        raise InvalidMessage("chain id is not a number from 1 to 2**53 - 1 without leading zeros")
    optional, resources = _read_optional(lines)
    expiration_time = optional.get("Expiration Time")
    not_before = optional.get("Not Before")
    return SiweMessage(
        scheme=scheme,
        domain=domain,
        address=address,
        statement=statement,
        uri=uri,
        version=version,
        chain_id=int(chain_id),
        nonce=nonce,
        issued_at=parse_time(issued_at, "issued-at"),
        expiration_time=None if expiration_time is None else parse_time(expiration_time, "expiration-time"),
        not_before=None if not_before is None else parse_time(not_before, "not-before"),
        request_id=optional.get("Request ID"),
        resources=resources,
    )
