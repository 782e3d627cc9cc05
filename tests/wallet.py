"""A wallet for tests: a real secp256k1 account from eth-account that signs like MetaMask's ``personal_sign``,
and the two calls of a wallet sign-in against a service."""

from __future__ import annotations

from typing import Any

import httpx
from eth_account import Account
from eth_account.messages import encode_defunct


class Wallet:
    def __init__(self) -> None:
        self._account = Account.create()
        self.address: str = self._account.address

    def sign(self, message: str) -> str:
        signed = self._account.sign_message(encode_defunct(text=message))
        return "0x" + bytes(signed.signature).hex().removeprefix("0x")


async def challenge(client: httpx.AsyncClient, wallet: Wallet, **extra: Any) -> dict[str, Any]:
    response = await client.post("/auth/siwe/challenge", json={"wallet_address": wallet.address, **extra})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def sign_in(client: httpx.AsyncClient, wallet: Wallet) -> dict[str, Any]:
    """Challenge, sign, verify: the new session's answer (access_token, refresh_token, user_id, ...)."""
    message = (await challenge(client, wallet))["message"]
    response = await client.post("/auth/siwe/verify", json={"message": message, "signature": wallet.sign(message)})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
