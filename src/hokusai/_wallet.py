"""Sign in with an Ethereum keystore file (the ``[wallet]`` extra: ``pip install 'hokusai-ml-platform[wallet]'``).

    from hokusai import AuthClient, sign_in_with_keystore

    with AuthClient("https://auth.example.com") as client:
        session = sign_in_with_keystore(client, "wallet.json", password)
        print(client.me().wallet_address)

eth-account is imported by the functions here, when a keystore is used: ``import hokusai`` and the ``hokusai``
command never load it. The private key is decrypted in memory, signs one message (EIP-191 ``personal_sign``, as a
browser wallet does) and is dropped; it is never stored, logged or sent.

Before signing, the message is checked as EIP-4361 asks of a wallet: it must be for this wallet's address and for
the service the client talks to (its domain is the host[:port] of the client's URL). A service that handed out
another site's sign-in message would otherwise get a signature that signs you in there. When the service's public
address (its ``PUBLIC_URL``) differs from the URL used to reach it, pass ``expected_domain``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from hokusai._errors import AuthenticationError, ConfigurationError

if TYPE_CHECKING:
    from hokusai._client import AsyncAuthClient, AuthClient
    from hokusai._models import Session, SiweChallenge

WALLET_EXTRA = "pip install 'hokusai-ml-platform[wallet]'"
_FIRST_LINE_END = " wants you to sign in with your Ethereum account:"


def require_eth_account() -> None:
    """Raise ``ConfigurationError`` naming the extra to install when eth-account is not installed."""
    try:
        import eth_account  # noqa: F401
    except ImportError:
        raise ConfigurationError(f"signing in with a wallet needs eth-account: {WALLET_EXTRA}") from None


class KeystoreWallet:
    """A decrypted keystore: its address and ``sign`` (personal_sign). The key never appears in ``repr``."""

    __slots__ = ("_account", "address")

    def __init__(self, private_key: bytes) -> None:
        require_eth_account()
        from eth_account import Account

        self._account = Account.from_key(private_key)
        self.address: str = self._account.address

    def sign(self, message: str) -> str:
        """The EIP-191 ``personal_sign`` signature of ``message``: 0x + 130 hex digits."""
        from eth_account.messages import encode_defunct

        signed = self._account.sign_message(encode_defunct(text=message))
        return "0x" + bytes(signed.signature).hex()

    def __repr__(self) -> str:
        return f"KeystoreWallet({self.address})"


def read_keystore(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The keystore file's JSON (``ConfigurationError`` when it cannot be read or is not a keystore)."""
    where = Path(path)
    try:
        text = where.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigurationError(
            f"cannot read the keystore {where}: {error.strerror or type(error).__name__}"
        ) from None
    except UnicodeDecodeError:
        raise ConfigurationError(f"{where} is not a keystore file (not JSON text)") from None
    try:
        keystore = json.loads(text)
    except ValueError:
        raise ConfigurationError(f"{where} is not a keystore file (not JSON)") from None
    if not isinstance(keystore, dict) or not isinstance(keystore.get("crypto") or keystore.get("Crypto"), dict):
        raise ConfigurationError(f"{where} is not an Ethereum keystore file (no 'crypto' section)")
    return keystore


def unlock_keystore(keystore: Mapping[str, Any], password: str, *, name: str = "the keystore") -> KeystoreWallet:
    """Decrypt a keystore (its JSON) with ``password``: ``AuthenticationError`` for a wrong password."""
    require_eth_account()
    from eth_account import Account

    try:
        private_key = Account.decrypt(dict(keystore), password)
    except ValueError as error:
        if "MAC mismatch" in str(error):
            raise AuthenticationError(f"wrong password for {name}") from None
        raise ConfigurationError(f"cannot decrypt {name}: {error}") from None
    except (KeyError, TypeError) as error:
        raise ConfigurationError(f"{name} is not a usable keystore (missing or wrong {error})") from None
    return KeystoreWallet(bytes(private_key))


def load_keystore(path: str | os.PathLike[str], password: str) -> KeystoreWallet:
    """Read and decrypt an Ethereum keystore (V3 JSON, as geth, MetaMask exports and eth-account write it)."""
    require_eth_account()
    return unlock_keystore(read_keystore(path), password, name=str(path))


def check_message(message: str, address: str, domain: str, *, chain_id: int | None = None) -> None:
    """Refuse (``ConfigurationError``) to sign a sign-in message that is not for this wallet at this service."""
    lines = message.split("\n")
    first = lines[0] if lines else ""
    if len(lines) < 2 or not first.endswith(_FIRST_LINE_END):
        raise ConfigurationError("refusing to sign: the service's challenge is not an EIP-4361 sign-in message")
    asked = first.removesuffix(_FIRST_LINE_END).partition("://")
    asked_domain = (asked[2] or asked[0]).lower()
    if asked_domain != domain.lower():
        raise ConfigurationError(
            f"refusing to sign: the service asked to sign in to '{asked_domain}', not '{domain}' (a service "
            "relaying another site's sign-in would get a signature that signs you in there); if that is this "
            f"service's public address (its PUBLIC_URL), use https://{asked_domain} as the URL"
        )
    if lines[1].strip().lower() != address.lower():
        raise ConfigurationError(f"refusing to sign: the challenge is for {lines[1].strip()}, not {address}")
    if chain_id is not None and f"Chain ID: {chain_id}" not in lines:
        raise ConfigurationError(f"refusing to sign: the challenge is not for chain {chain_id}")


def domain_of(url: str) -> str:
    """What EIP-4361 calls the domain of a URL: its host[:port]."""
    return urlsplit(url).netloc


def _signed(
    challenge: SiweChallenge, wallet: KeystoreWallet, base_url: str, chain_id: int | None, domain: str | None
) -> tuple[str, str]:
    check_message(challenge.message, wallet.address, domain or domain_of(base_url), chain_id=chain_id)
    return challenge.message, wallet.sign(challenge.message)


def sign_in_with_wallet(
    client: AuthClient, wallet: KeystoreWallet, *, chain_id: int | None = None, expected_domain: str | None = None
) -> Session:
    """Challenge, check, sign, verify with an unlocked wallet; the client then uses the new session."""
    challenge = client.siwe_challenge(wallet.address, chain_id)
    return client.siwe_verify(*_signed(challenge, wallet, client.base_url, chain_id, expected_domain))


def sign_in_with_keystore(
    client: AuthClient,
    path: str | os.PathLike[str],
    password: str,
    *,
    chain_id: int | None = None,
    expected_domain: str | None = None,
) -> Session:
    """Sign in with a keystore file: challenge, check, sign, verify. The client then uses the new session
    (``client.session``); persist it with the client's ``on_session``, or keep the returned one."""
    wallet = load_keystore(path, password)
    return sign_in_with_wallet(client, wallet, chain_id=chain_id, expected_domain=expected_domain)


async def async_sign_in_with_keystore(
    client: AsyncAuthClient,
    path: str | os.PathLike[str],
    password: str,
    *,
    chain_id: int | None = None,
    expected_domain: str | None = None,
) -> Session:
    """``sign_in_with_keystore`` for ``AsyncAuthClient`` (the keystore is decrypted in this thread)."""
    wallet = load_keystore(path, password)
    challenge = await client.siwe_challenge(wallet.address, chain_id)
    return await client.siwe_verify(*_signed(challenge, wallet, client.base_url, chain_id, expected_domain))
