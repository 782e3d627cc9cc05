"""Delivery through an SMTP server named by ``SMTP_URL``, with aiosmtplib.

``smtp://[user:pass@]host[:port]``           plain SMTP, no TLS (default port 25): a relay on the same host or network
``smtp+starttls://[user:pass@]host[:port]``  STARTTLS required (default port 587): most providers' submission port
``smtps://[user:pass@]host[:port]``          TLS from the first byte (default port 465)

The user and password are URL-decoded (``%40`` for ``@`` in a user name, ``%2F`` for ``/`` in a password). Every
failure is turned into a DeliveryError whose text is the error's class and the server's short answer, with the
user name and password cut out: it is logged and stored in the outbox (``last_error``).
"""

from __future__ import annotations

import base64
import ipaddress
import logging
import re
import ssl
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Literal
from urllib.parse import quote, unquote, urlsplit

import aiosmtplib

from hokusai_auth.mail.transport import DeliveryError

logger = logging.getLogger("hokusai_auth.mail")

TlsMode = Literal["none", "starttls", "implicit"]
SCHEMES: dict[str, tuple[TlsMode, int]] = {
    "smtp": ("none", 25),
    "smtp+starttls": ("starttls", 587),
    "smtps": ("implicit", 465),
}
DEFAULT_TIMEOUT_S = 15.0  # per SMTP operation (connect, each command); the sender bounds the whole send too
SUMMARY_MAX = 300
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    tls: TlsMode
    username: str | None = None
    password: str | None = field(default=None, repr=False)

    def describe(self) -> str:
        """``smtp+starttls://apikey@smtp.sendgrid.net:587``: the URL without the password."""
        scheme = next(name for name, (mode, _) in SCHEMES.items() if mode == self.tls)
        host = f"[{self.host}]" if ":" in self.host else self.host
        user = f"{quote(self.username, safe='')}@" if self.username else ""
        return f"{scheme}://{user}{host}:{self.port}"


def parse_smtp_url(url: str) -> SmtpConfig:
    """Raises ValueError naming SMTP_URL; the message never quotes the URL (it may carry a password)."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise ValueError("SMTP_URL is not a valid URL (is the port a number?)") from None
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        shown = scheme if re.fullmatch(r"[a-z0-9+.-]{1,20}", scheme) else "?"
        raise ValueError(f"SMTP_URL must start with smtp://, smtp+starttls:// or smtps:// (got {shown}://)")
    if not parts.hostname:
        raise ValueError("SMTP_URL has no host, e.g. smtp+starttls://user:password@smtp.example.com:587")
    tls, default_port = SCHEMES[scheme]
    username = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password is not None else None
    if password is not None and not username:
        raise ValueError("SMTP_URL has a password but no user name")
    return SmtpConfig(parts.hostname, port or default_port, tls, username, password)


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class SmtpTransport:
    """One connection per message: the sender sends a few at a time, and a fresh connection never inherits a
    broken one's state."""

    def __init__(
        self,
        config: SmtpConfig,
        *,
        timeout: float = DEFAULT_TIMEOUT_S,
        tls_context: ssl.SSLContext | None = None,  # tests trust their own certificate with it
    ) -> None:
        self.config = config
        self._timeout = timeout
        self._tls_context = tls_context
        self._secrets = _secret_forms(config.username, config.password)
        if config.password and config.tls == "none" and not _loopback(config.host):
            logger.warning("SMTP_URL sends a password without TLS to %s; use smtp+starttls:// or smtps://", config.host)

    def describe(self) -> str:
        return self.config.describe()

    async def send(self, message: EmailMessage) -> None:
        config = self.config
        try:
            await aiosmtplib.send(
                message,
                hostname=config.host,
                port=config.port,
                username=config.username,
                password=config.password,
                use_tls=config.tls == "implicit",
                start_tls=config.tls == "starttls",  # smtp:// means no TLS, not "TLS if offered"
                timeout=self._timeout,
                tls_context=self._tls_context,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            permanent = all(refused.code >= 500 for refused in exc.recipients)
            answers = "; ".join(f"{refused.code} {refused.message}" for refused in exc.recipients)
            raise DeliveryError(self._summary(exc, answers), permanent=permanent) from None
        except aiosmtplib.SMTPRecipientRefused as exc:
            raise DeliveryError(self._summary(exc, f"{exc.code} {exc.message}"), permanent=exc.code >= 500) from None
        except aiosmtplib.SMTPResponseException as exc:
            raise DeliveryError(self._summary(exc, f"{exc.code} {exc.message}")) from None
        except (aiosmtplib.SMTPException, OSError, TimeoutError, ssl.SSLError) as exc:
            raise DeliveryError(self._summary(exc, str(exc))) from None

    def _summary(self, exc: BaseException, text: str) -> str:
        """``SMTPAuthenticationError: 535 5.7.8 Authentication credentials invalid``: one line, short, with the
        credentials cut out in every form they travel in (plain, URL-encoded, AUTH PLAIN/LOGIN base64)."""
        for secret in self._secrets:
            text = text.replace(secret, "***")
        text = _SPACE.sub(" ", text).strip()
        return f"{type(exc).__name__}: {text}"[:SUMMARY_MAX] if text else type(exc).__name__


def _secret_forms(username: str | None, password: str | None) -> tuple[str, ...]:
    if not password:
        return ()
    forms = {password}
    user = username or ""
    for raw in (password, f"\0{user}\0{password}", f"{user}\0{password}"):
        forms.add(base64.b64encode(raw.encode()).decode())
    forms.add(quote(password, safe=""))
    # Longest first: a password inside its own encodings must not leave half an encoding behind.
    return tuple(sorted((form for form in forms if len(form) >= 3), key=len, reverse=True))
