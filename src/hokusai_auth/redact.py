"""The last line of defence for secrets in text that leaves the process (log lines, error bodies): anything
shaped like a Hokusai key is cut to its public prefix, and URLs lose their query strings (``?api_key=``,
``?session_token=`` and the like travel there). Code here never puts a secret into such text on purpose; this
catches the day it does by accident."""

from __future__ import annotations

import re

from hokusai._keys import TAG_ALTERNATION

_KEY_SHAPE = re.compile(rf"hk_({TAG_ALTERNATION})_[0-9A-Za-z]{{3}}[0-9A-Za-z]*")
# Opaque tokens: refresh (hkr_), email verification (hkv_), organization claim (hkc_), invitation (hki_) and device
# sign-in code (hkd_). A claim token travels in a URL path (POST /api/v1/claims/{token}), so access-log paths must
# lose it: whoever reads the log could claim.
_TOKEN_SHAPE = re.compile(r"(hk[rvcid]_)[A-Za-z0-9_\-]{8,}")
_URL_QUERY = re.compile(r"(\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s?#\"']*)\?[^\s#\"']*")


def mask_keys(text: str) -> str:
    """``hk_live_AbC...`` becomes ``hk_live_AbC***``: what the API itself shows of a key; a refresh, verification,
    claim, invitation or device token keeps only its prefix (``hkc_***``)."""
    text = _KEY_SHAPE.sub(lambda m: m.group(0)[: len(m.group(1)) + 7] + "***", text)
    return _TOKEN_SHAPE.sub(r"\1***", text)


def mask_url_queries(text: str) -> str:
    """``http://host/path?a=b`` becomes ``http://host/path?<redacted>``."""
    return _URL_QUERY.sub(r"\1?<redacted>", text)


def redact(text: str) -> str:
    return mask_url_queries(mask_keys(text))
