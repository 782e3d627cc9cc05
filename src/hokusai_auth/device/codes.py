"""The two codes of a device sign-in, pure and I/O-free.

- The **device code** is the command line's secret: ``hkd_`` (so secret scanners and log masking know it) and
  256 random bits, stored only as a keyed digest (mailed_tokens.PurposeDigester), like every other opaque token.
- The **user code** is what a person reads off a terminal and types or checks in a browser: 8 letters from an
  alphabet without vowels (no words get spelled) and without letters easily confused with digits or each other
  (no I, O, U, Y), shown as ``XXXX-XXXX``. Compared without case, spaces or dashes. 20**8 (about 2**34.6)
  codes, each living 10 minutes, and approval attempts limited per user: guessing a live one is out of reach.
  Stored as a keyed digest too: a copy of the database gives no code to approve or deny.
"""

from __future__ import annotations

import re
import secrets

from hokusai_auth import mailed_tokens

DEVICE_CODE_PREFIX = "hkd_"
USER_CODE_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ"
USER_CODE_LENGTH = 8
USER_CODE_INPUT_MAX = 32  # what a request may send for a user code: the code, dashes and spaces around it
_IGNORED = re.compile(r"[\s\-]")
_USER_CODE = re.compile(f"[{USER_CODE_ALPHABET}]{{{USER_CODE_LENGTH}}}")


def new_device_code() -> str:
    return mailed_tokens.generate(DEVICE_CODE_PREFIX)


def plausible_device_code(code: str) -> bool:
    return mailed_tokens.plausible(code, DEVICE_CODE_PREFIX)


def new_user_code() -> str:
    """8 letters of the alphabet, without the dash (``display`` adds it)."""
    return "".join(secrets.choice(USER_CODE_ALPHABET) for _ in range(USER_CODE_LENGTH))


def display(user_code: str) -> str:
    """``BCDFGHJK`` → ``BCDF-GHJK``."""
    half = USER_CODE_LENGTH // 2
    return f"{user_code[:half]}-{user_code[half:]}"


def normalize(text: str) -> str | None:
    """The code as stored and compared (upper case, no dashes or spaces), or None when ``text`` cannot be one."""
    if len(text) > USER_CODE_INPUT_MAX:
        return None
    code = _IGNORED.sub("", text).upper()
    return code if _USER_CODE.fullmatch(code) else None
