"""Sign-in nonces in the database: issued with a challenge, consumed once by the verify that presents them.

The consuming UPDATE names everything the nonce is bound to (the nonce, the address, the chain, unused, not
expired), so of two instances verifying the same message at once exactly one wins, and a replay anywhere later
finds the nonce used.
"""

from __future__ import annotations

import secrets
import string
from datetime import datetime, timedelta

from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncSession

from hokusai_auth.siwe.models import SiweNonce

NONCE_LENGTH = 24  # ≥ 16 alphanumerics (the contract); 24 is 142 bits
KEEP_AFTER_EXPIRY = timedelta(hours=1)  # used or expired nonces are deleted this long after they expire
_ALPHABET = string.ascii_letters + string.digits


def new_nonce() -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(NONCE_LENGTH))


def issue(session: AsyncSession, nonce: str, address: str, chain_id: int, now: datetime, expires_at: datetime) -> None:
    session.add(SiweNonce(nonce=nonce, wallet_address=address, chain_id=chain_id, issued_at=now, expires_at=expires_at))


async def consume(session: AsyncSession, nonce: str, address: str, chain_id: int, now: datetime) -> bool:
    result = await session.execute(
        update(SiweNonce)
        .where(
            SiweNonce.nonce == nonce,
            SiweNonce.wallet_address == address,
            SiweNonce.chain_id == chain_id,
            SiweNonce.used_at.is_(None),
            SiweNonce.expires_at > now,
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def forget_old(session: AsyncSession, now: datetime) -> None:
    await session.execute(delete(SiweNonce).where(SiweNonce.expires_at < now - KEEP_AFTER_EXPIRY))
