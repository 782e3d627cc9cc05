"""A browser's-eye view of the dashboard over plain HTTP (httpx keeps the cookies): sign in as a wallet user or an
operator, read a page's CSRF token, post its forms."""

from __future__ import annotations

import re
from typing import Any

import httpx

from tests.conftest import ADMIN_TOKEN, Service
from tests.wallet import Wallet, challenge

_CSRF = re.compile(r'<meta name="csrf-token" content="([^"]+)">')


def csrf_of(page: httpx.Response) -> str:
    found = _CSRF.search(page.text)
    assert found is not None, page.text[:500]
    return found.group(1)


class Browser:
    """One browser: its own cookie jar on the service's app."""

    def __init__(self, service: Service) -> None:
        self.client = httpx.AsyncClient(transport=service.client._transport, base_url="http://testserver")
        self.csrf = ""

    async def get(self, path: str, **params: Any) -> httpx.Response:
        page = await self.client.get(path, params=params or None)
        if page.headers.get("content-type", "").startswith("text/html") and _CSRF.search(page.text):
            self.csrf = csrf_of(page)
        return page

    async def post(self, path: str, csrf: str | None = None, **fields: str) -> httpx.Response:
        return await self.client.post(path, data={"csrf": self.csrf if csrf is None else csrf, **fields})

    async def sign_in_with_wallet(self, wallet: Wallet) -> None:
        await self.get("/dashboard/sign-in")
        message = (await challenge(self.client, wallet))["message"]
        signed = {"message": message, "signature": wallet.sign(message)}
        answer = await self.client.post("/dashboard/sign-in/wallet", json=signed, headers={"X-CSRF-Token": self.csrf})
        assert answer.status_code == 200, answer.text
        await self.get("/dashboard/keys")

    async def sign_in_as_operator(self) -> None:
        await self.get("/dashboard/sign-in")
        answer = await self.post("/dashboard/sign-in/operator", token=ADMIN_TOKEN)
        assert answer.status_code == 303, answer.text
        await self.get("/dashboard/keys")

    async def close(self) -> None:
        await self.client.aclose()
