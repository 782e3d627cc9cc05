"""Hypothesis strategies for the values a schema-driven generator rarely reaches on its own, and which broke the
service before: NUL and lone surrogates in any string, strings at, just under and just over every length limit
(the API's and the database columns'), times at the ends of the calendar with offsets that push them over it,
naive times, cursors built from such times, ``YYYY-MM`` periods and dates at the ends of the calendar, and
envelope header values (X-Request-ID, User-Agent, X-Forwarded-For from a trusted proxy) of hostile shapes.

Each is a strategy drawing from a space around the boundary, not a list of the cases known to have failed, so
a new limit or a new field gets the same treatment.
"""

from __future__ import annotations

import base64
import string
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta, timezone

from hypothesis import strategies as st

# Years at the ends of the calendar and around points where storage types or libraries change behaviour.
EDGE_YEARS = (1, 2, 1899, 1969, 1970, 1999, 2000, 2038, 2200, 9998, 9999)
# Beyond what datetime can hold; only reachable as text.
OUT_OF_RANGE_YEARS = (0, 10000, 99999)
# RFC 3339 allows offsets up to ±23:59; at year 1 or 9999 the wide ones move the UTC instant out of the calendar.
EDGE_OFFSETS_MINUTES = (0, 1, -1, 14 * 60, -12 * 60, 23 * 60 + 59, -(23 * 60 + 59))
SURROGATES = ("\ud800", "\udbff", "\udc00", "\udfff")
# Characters that survive a JSON round trip but are special somewhere downstream (logs, terminals, SQL, UTF-8).
EXOTIC = ("\x7f", "\t", "\u2028", "\u202e", "\ufeff", "\U0001f600", "é", "'", '"', "\\", "%00", "' OR '1'='1")
PAD_CHARACTERS = ("a", "0", "é", "\U0001d518")  # one, two and four bytes in UTF-8: limits may count either
REQUEST_ID_ALPHABET = string.ascii_letters + string.digits + "._:-"
ZONE_ALPHABET = string.ascii_letters + string.digits + "._-"


# ---------------------------------------------------------------------------------------------- strings


def sized(lengths: Sequence[int], alphabet: str | None = None) -> st.SearchStrategy[str]:
    """Strings of exactly one less than, equal to, or one more than one of ``lengths``."""

    def at(n: int) -> st.SearchStrategy[str]:
        if alphabet is not None:
            return st.text(alphabet=alphabet, min_size=n, max_size=n)
        return st.sampled_from(PAD_CHARACTERS).map(lambda pad: pad * n)

    return st.sampled_from(sorted(set(lengths))).flatmap(
        lambda n: st.sampled_from([max(n - 1, 0), n, n + 1]).flatmap(at)
    )


def string_variants(lengths: Sequence[int], *, surrogates: bool) -> st.SearchStrategy[Callable[[str], str]]:
    """Ways to turn a generated string into one a careless layer mishandles. A strategy of functions, built
    once, so that varying a value costs one draw rather than a new strategy per value. ``surrogates``: only
    where the value travels as a JSON escape; a URL or header cannot carry a lone surrogate at all."""

    def insert(piece: str, at: int) -> Callable[[str], str]:
        return lambda base: base[: at % (len(base) + 1)] + piece + base[at % (len(base) + 1) :]

    def replace(value: str) -> Callable[[str], str]:
        return lambda _base: value

    def append(value: str) -> Callable[[str], str]:
        return lambda base: base + value

    def wrap(pad: str) -> Callable[[str], str]:
        return lambda base: pad + base + pad

    positions = st.integers(0, 64)
    variants: list[st.SearchStrategy[Callable[[str], str]]] = [
        positions.map(lambda at: insert("\x00", at)),
        sized(lengths).map(replace),
        sized(lengths).map(append),
        sized(lengths).map(lambda long: replace(long[:-1] + "\x00")),
        st.sampled_from(EXOTIC).map(append),
        st.sampled_from([" ", "\x00", " \t "]).map(wrap),
    ]
    if surrogates:
        variants.append(st.tuples(st.sampled_from(SURROGATES), positions).map(lambda t: insert(*t)))
    return st.one_of(variants)


def hostile_text(lengths: Sequence[int], *, surrogates: bool) -> st.SearchStrategy[str]:
    """Short text turned into one of its boundary variants."""
    return st.tuples(st.text(max_size=12), string_variants(lengths, surrogates=surrogates)).map(lambda t: t[1](t[0]))


def free_text(lengths: Sequence[int]) -> st.SearchStrategy[str]:
    """Any text a header-derived field may hold, the boundary kinds over-represented."""
    return st.one_of(st.text(max_size=40), hostile_text(lengths, surrogates=False))


def short_text() -> st.SearchStrategy[str]:
    """Text for a schema field: short (a length limit in the schema would only filter long values out; the
    lengths are pushed after generation instead), with NUL and odd characters over-represented."""
    plain = st.text(max_size=20)
    varied = st.tuples(st.text(max_size=12), string_variants((1,), surrogates=False)).map(lambda t: t[1](t[0]))
    # Mostly plain: the edge refuses a NUL in the URL before anything else runs, and a request carries several
    # such fields, so a frequent NUL would leave little for the rest of the service to see.
    return st.one_of(plain, plain, plain, varied)


# ---------------------------------------------------------------------------------------------- times


def offsets() -> st.SearchStrategy[timezone | None]:
    minutes = st.one_of(st.sampled_from(EDGE_OFFSETS_MINUTES), st.integers(-(24 * 60 - 1), 24 * 60 - 1))
    return st.one_of(st.none(), st.just(UTC), minutes.map(lambda m: timezone(timedelta(minutes=m))))


def calendar_ends() -> st.SearchStrategy[datetime]:
    """Naive times within a few days of datetime.min or datetime.max: where converting to UTC, adding a day or
    a month, or a driver's own arithmetic leaves the calendar."""
    within = st.integers(0, 3 * 86_400 * 1_000_000).map(lambda us: timedelta(microseconds=us))
    return st.one_of(within.map(lambda d: datetime.min + d), within.map(lambda d: datetime.max - d))


def leaving_the_calendar() -> st.SearchStrategy[datetime]:
    """Aware times that are valid as written but whose UTC instant is before year 1 or after year 9999: the
    first hours of year 1 at a positive offset, the last hours of year 9999 at a negative one."""
    hours = st.integers(1, 23 * 60 + 59).map(lambda m: timedelta(minutes=m))
    early = st.tuples(st.integers(0, 86_399), hours).map(
        lambda t: (datetime.min + timedelta(seconds=t[0] % int(t[1].total_seconds()))).replace(tzinfo=timezone(t[1]))
    )
    late = st.tuples(st.integers(0, 86_399), hours).map(
        lambda t: (datetime.max - timedelta(seconds=t[0] % int(t[1].total_seconds()))).replace(tzinfo=timezone(-t[1]))
    )
    return st.one_of(late, early)  # late first: for an expiry, an early time is refused as past before anything


def moments() -> st.SearchStrategy[datetime]:
    """Datetimes, aware (any offset up to ±23:59) or naive, most of them at the very ends of the calendar."""
    edge_days = st.builds(
        datetime,
        year=st.sampled_from(EDGE_YEARS),
        month=st.sampled_from([1, 2, 12]),
        day=st.sampled_from([1, 28]),
        hour=st.sampled_from([0, 12, 23]),
        minute=st.sampled_from([0, 59]),
        second=st.sampled_from([0, 59]),
        microsecond=st.sampled_from([0, 999_999]),
    )
    anywhere = st.datetimes(min_value=datetime.min, max_value=datetime.max)
    naive = st.one_of(calendar_ends(), edge_days, anywhere)
    return st.one_of(leaving_the_calendar(), st.tuples(naive, offsets()).map(lambda t: t[0].replace(tzinfo=t[1])))


def render_moment(moment: datetime, style: int) -> str:
    """The same instant in the spellings RFC 3339 and ISO 8601 parsers disagree about."""
    text = moment.isoformat()
    if style == 1 and moment.utcoffset() == timedelta(0):
        text = text.replace("+00:00", "Z")
    elif style == 2:
        text = text.replace("T", " ")
    elif style == 3:
        text = moment.isoformat(timespec="seconds")
    elif style == 4:
        text = text.lower().replace("+00:00", "z")
    elif style == 5:
        text = moment.date().isoformat()
    return text


def time_texts() -> st.SearchStrategy[str]:
    in_range = st.builds(render_moment, moments(), st.integers(0, 5))
    out_of_range = st.builds(
        lambda year, month, suffix: f"{year:04d}-{month:02d}-01T00:00:00{suffix}",
        st.sampled_from(OUT_OF_RANGE_YEARS),
        st.sampled_from([0, 1, 12, 13]),
        st.sampled_from(["Z", "+14:00", "-23:59", "", "+24:00"]),
    )
    return st.one_of(in_range, in_range, out_of_range)


def periods() -> st.SearchStrategy[str]:
    """``YYYY-MM`` values: the first and last months of the calendar, other edge years, impossible months."""
    # The last month first (Hypothesis starts from the first choices): there, "the month after" leaves the calendar.
    ends = st.builds(lambda y, m: f"{y:04d}-{m:02d}", st.sampled_from([9999, 1]), st.sampled_from([12, 1]))
    years = st.one_of(st.sampled_from(EDGE_YEARS + OUT_OF_RANGE_YEARS), st.integers(0, 10999))
    months = st.one_of(st.sampled_from([0, 1, 12, 13]), st.integers(0, 99))
    return st.one_of(ends, ends, st.builds(lambda y, m: f"{y:04d}-{m:02d}", years, months))


def dates() -> st.SearchStrategy[str]:
    """``YYYY-MM-DD`` values: the first and last weeks of the calendar (a default range of 30 days before or
    after them leaves it), edge years, and impossible dates."""
    within = st.integers(0, 40).map(lambda n: timedelta(days=n))
    ends = st.one_of(within.map(lambda d: date.max - d), within.map(lambda d: date.min + d))
    shaped = st.builds(
        lambda y, m, d: f"{y:04d}-{m:02d}-{d:02d}",
        st.sampled_from(EDGE_YEARS + OUT_OF_RANGE_YEARS),
        st.sampled_from([0, 1, 2, 12, 13]),
        st.sampled_from([0, 1, 28, 29, 31, 32]),
    )
    return st.one_of(ends.map(date.isoformat), st.dates().map(date.isoformat), shaped)


def encode_cursor(payload: str, urlsafe: bool = True, padded: bool = False) -> str:
    data = payload.encode("utf-8", "surrogatepass")
    text = (base64.urlsafe_b64encode if urlsafe else base64.b64encode)(data).decode()
    return text if padded else text.rstrip("=")


def cursors() -> st.SearchStrategy[str]:
    """Pagination cursors shaped like the service's own (unpadded URL-safe base64 of ``<iso time>|<uuid>``) at
    edge times, and malformed variants of that shape."""
    well_formed = st.builds(lambda moment, ident: encode_cursor(f"{moment}|{ident}"), time_texts(), st.uuids())
    ids = st.one_of(st.just(str(uuid.UUID(int=0))), st.text(max_size=40))
    odd = st.builds(
        encode_cursor,
        st.builds(
            lambda moment, sep, ident: f"{moment}{sep}{ident}", time_texts(), st.sampled_from(["|", "||", ""]), ids
        ),
        st.booleans(),
        st.booleans(),
    )
    return st.one_of(well_formed, well_formed, odd, st.text(max_size=30))


def recut_cursor(cursor: str, moment: str) -> str:
    """A real cursor with its time replaced by ``moment`` (an edge time): the row id stays one the service
    issued, so only the time can be what goes wrong."""
    try:
        decoded = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except ValueError:
        return cursor
    _moment, _sep, ident = decoded.partition("|")
    return encode_cursor(f"{moment}|{ident}")


# ---------------------------------------------------------------------------------------------- addresses


def ip_texts() -> st.SearchStrategy[str]:
    return st.ip_addresses().map(str)


def scoped_ipv6(max_zone: int = 80) -> st.SearchStrategy[str]:
    """A link-local address with a zone id: valid for Python's ipaddress, and as long as the zone makes it."""
    zone = st.integers(1, max_zone).flatmap(lambda n: st.text(ZONE_ALPHABET, min_size=n, max_size=n))
    host = st.one_of(st.just("fe80::1"), st.just("fe80:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), st.ip_addresses(v=6))
    return st.builds(lambda h, z: f"{h}%{z}", host.map(str), zone)


def networks() -> st.SearchStrategy[str]:
    """Entries for an IP allowlist: addresses, CIDRs (host bits set or not), scoped addresses and junk."""
    cidr = st.one_of(
        st.tuples(st.ip_addresses(v=4).map(str), st.integers(0, 33)),
        st.tuples(st.ip_addresses(v=6).map(str), st.integers(0, 129)),
    ).map(lambda t: f"{t[0]}/{t[1]}")
    # Zones kept short: the schema caps an entry at 64 characters, and longer draws would only be filtered out.
    return st.one_of(ip_texts(), cidr, scoped_ipv6(max_zone=20), short_text())


def forwarded_for(lengths: Sequence[int]) -> st.SearchStrategy[str]:
    """X-Forwarded-For: earlier hops of any kind, then the hop the service believes (the nearest one that is not a
    trusted proxy), most often a scoped IPv6 address, which is longer than any plain address."""
    hop = st.one_of(
        ip_texts(),
        scoped_ipv6(),
        st.sampled_from(["unknown", "", " ", "::ffff:203.0.113.9", "[2001:db8::1]", "203.0.113.9:443"]),
        header_text(lengths),
    )
    last = st.one_of(scoped_ipv6(), scoped_ipv6(), hop)
    return st.tuples(st.lists(hop, max_size=3), last, st.sampled_from([",", ", "])).map(
        lambda t: t[2].join([*t[0], t[1]])
    )


# ---------------------------------------------------------------------------------------------- headers


def latin1(value: str) -> bytes:
    """What reaches the application from the wire: header bytes are read as Latin-1, so anything else is cut
    to its UTF-8 bytes first (as a real client sending UTF-8 would)."""
    try:
        return value.encode("latin-1")
    except UnicodeEncodeError:
        return value.encode("utf-8", "surrogatepass")


def header_text(lengths: Sequence[int]) -> st.SearchStrategy[str]:
    """A header value: printable Latin-1, any Unicode (sent as its UTF-8 bytes), one at a length limit, or a
    boundary variant (NUL among them: one value in eight or so, since the edge refuses NUL before anything)."""
    printable = st.characters(codec="latin-1", exclude_characters="\r\n\x00")
    return st.one_of(
        st.text(printable, max_size=40), st.text(max_size=20), sized(lengths), hostile_text(lengths, surrogates=False)
    )


def request_ids(lengths: Sequence[int]) -> st.SearchStrategy[str]:
    # Lengths around each limit (every column's, and the 36 of a UUID and 128 that id parsers commonly allow), in
    # the alphabet a well-formed id uses, so that only the length is wrong.
    well_formed = st.one_of(
        sized(lengths, alphabet=REQUEST_ID_ALPHABET), sized([36, 64, 128], alphabet=REQUEST_ID_ALPHABET)
    )
    any_length = st.text(REQUEST_ID_ALPHABET, min_size=1, max_size=300)
    return st.one_of(well_formed, well_formed, any_length, header_text(lengths))


def user_agents(lengths: Sequence[int]) -> st.SearchStrategy[str]:
    return st.one_of(sized(lengths), header_text(lengths))


def extra_headers(lengths: Sequence[int]) -> st.SearchStrategy[dict[str, str]]:
    """Envelope headers every request may carry; each absent or hostile."""
    return st.fixed_dictionaries(
        {},
        optional={
            "X-Request-ID": request_ids(lengths),
            "User-Agent": user_agents(lengths),
            "X-Forwarded-For": forwarded_for(lengths),
            "X-Forwarded-Proto": st.sampled_from(["https", "http", "HTTPS, http", "", "gopher"]),
        },
    )
