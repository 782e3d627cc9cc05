"""What the API tests of mailed links share: the outbox as a test reads it, and the shape of a refusal."""

from __future__ import annotations

import re
from typing import Any

import httpx
from sqlalchemy import func, select

from hokusai_auth.mail.models import OutboxMessage
from tests.conftest import Service

PUBLIC_URL = "http://127.0.0.1:8000"  # the default PUBLIC_URL: links in mail start with it


async def mails(service: Service, recipient: str, kind: str | None = None) -> list[OutboxMessage]:
    query = select(OutboxMessage).where(OutboxMessage.recipient == recipient)
    if kind is not None:
        query = query.where(OutboxMessage.kind == kind)
    async with service.runtime.database.reader() as session:
        return list((await session.execute(query.order_by(OutboxMessage.created_at))).scalars())


def token_in(mail: OutboxMessage, path: str) -> str:
    """The token of the ``PUBLIC_URL + path`` link, found in the text and the HTML alike."""
    pattern = re.escape(f"{PUBLIC_URL}{path}?token=") + r"([A-Za-z0-9_-]+)"
    found = re.search(pattern, mail.text_body)
    assert found is not None, mail.text_body
    assert f"{PUBLIC_URL}{path}?token={found.group(1)}" in mail.html_body
    return found.group(1)


async def count(service: Service, model: Any, *where: Any) -> int:
    async with service.runtime.database.reader() as session:
        return int((await session.execute(select(func.count()).select_from(model).where(*where))).scalar_one())


def refused(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.json()["code"] == code, response.text
