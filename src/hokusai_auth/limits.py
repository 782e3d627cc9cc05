"""Sizes that the edge accepts and the database stores, defined once.

A value accepted at the edge and then refused by its column is a 500 after the fact (on PostgreSQL a 65-character
X-Request-ID once made every admin write fail, so a revocation silently did not happen). Columns and edge checks
both read these numbers, so they cannot drift apart.
"""

from __future__ import annotations

REQUEST_ID_MAX = 64  # X-Request-ID echoed, logged and stored with audit events
USER_AGENT_MAX = 512  # User-Agent stored with audit events (longer ones are cut, not refused)
CLIENT_IP_MAX = 45  # the longest IPv6 text form without a zone id: ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255
ACTOR_MAX = 255
WALLET_ADDRESS_LENGTH = 42  # 0x and 40 hex digits
EMAIL_MAX = 254  # RFC 5321's path limit less the angle brackets
DISPLAY_NAME_MAX = 100

# Request sizes: every header together, and bodies (both configurable for bodies, see Settings).
MAX_HEADER_BYTES = 32 * 1024
DEFAULT_MAX_BODY_BYTES = 1024 * 1024  # JSON APIs
DEFAULT_MAX_VALIDATE_BODY_BYTES = 64 * 1024  # a validate body is a few hundred bytes
