"""Text fields of request bodies that more than one feature takes: email addresses, one-line names, free text.

Refusals never quote the refused value (it may be anything a client sent).
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, Field, StrictStr

from hokusai_auth.limits import EMAIL_MAX

LOCAL_PART_MAX = 64  # RFC 5321
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_EMAIL = re.compile(
    rf"(?P<local>{_ATEXT}(?:\.{_ATEXT})*)@(?P<domain>(?:{_LABEL}\.)+(?:[A-Za-z]{{2,63}}|xn--[A-Za-z0-9-]{{1,59}}))"
)
# Control characters (C0, DEL, C1) and the Unicode line and paragraph separators: never in a one-line value.
CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
# In a multi-line value: the same, less tab and the line breaks.
_CONTROL_MULTILINE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029]")


def normalize_email(value: str) -> str | None:
    """The address as stored and compared: trimmed, its domain in lower case (the local part is the mailbox's
    to interpret, so its case is kept). None when it is not an address this service accepts."""
    value = value.strip()
    if len(value) > EMAIL_MAX:
        return None
    match = _EMAIL.fullmatch(value)
    if match is None or len(match["local"]) > LOCAL_PART_MAX:
        return None
    return f"{match['local']}@{match['domain'].lower()}"


def email_address(value: str) -> str:
    normalized = normalize_email(value)
    if normalized is None:
        raise ValueError(f"not a valid email address (user@example.com, ASCII, at most {EMAIL_MAX} characters)")
    return normalized


def one_line(value: str) -> str:
    if CONTROL.search(value):
        raise ValueError("must be one line of text without control characters")
    return value


def free_text(value: str) -> str:
    if _CONTROL_MULTILINE.search(value):
        raise ValueError("must be text without control characters")
    return value


EmailAddress = Annotated[StrictStr, Field(min_length=3, max_length=EMAIL_MAX), AfterValidator(email_address)]
