"""Users: found or created at sign-in, read and listed. Disabling and enabling them touches their keys and
sessions too, so it lives above all three (user_admin/)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from hokusai_auth.db.engine import Database
from hokusai_auth.db.upsert import insert_for
from hokusai_auth.errors import not_found
from hokusai_auth.users import repository
from hokusai_auth.users.models import User
from hokusai_auth.web import pagination

USER_NOT_FOUND = "User not found"


@dataclass(frozen=True, slots=True)
class UserPage:
    items: list[User]
    next_cursor: str | None


class UserService:
    def __init__(self, *, database: Database) -> None:
        self._db = database

    @staticmethod
    async def for_wallet(session: AsyncSession, checksummed: str, now: datetime) -> tuple[User, bool]:
        """The user of this wallet, created at its first sign-in, locked for the caller's transaction; and
        whether it is new. Two first sign-ins at once: one inserts, the other finds that row."""
        inserted = await session.execute(
            insert_for(session)(User)
            .values(id=uuid.uuid4(), wallet_address=checksummed, is_active=True, created_at=now, updated_at=now)
            .on_conflict_do_nothing(index_elements=["wallet_address"])
        )
        user = await repository.by_wallet(session, checksummed, for_update=True)
        if user is None:  # inserted or found: one of the two is always true
            raise RuntimeError("a user row for this wallet neither inserted nor found")
        return user, bool(inserted.rowcount)  # type: ignore[attr-defined]

    async def get(self, user_id: uuid.UUID) -> User:
        async with self._db.reader() as session:
            user = await repository.get(session, user_id)
        if user is None:
            raise not_found(USER_NOT_FOUND)
        return user

    async def list(self, limit: int, cursor: str | None) -> UserPage:
        after = pagination.decode_cursor(cursor) if cursor else None
        async with self._db.reader() as session:
            rows = list(await repository.page(session, limit + 1, after))
        more = len(rows) > limit
        rows = rows[:limit]
        last = rows[-1] if more and rows else None
        return UserPage(rows, pagination.encode_cursor(last.created_at, last.id) if last else None)
