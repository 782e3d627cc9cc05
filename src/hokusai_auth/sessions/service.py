"""Sessions: started by a sign-in, kept alive by refresh, ended by logout, by their user, by an operator
disabling the user, or by a refresh token presented twice.

A session is a row; its access tokens are JWTs that name it (``sid``), its refresh token is opaque and single-use.
Each refresh spends the presented token and issues the next one in one transaction; presenting a spent token
means two parties hold it, so the session ends for both (RFC 6819 §5.2.2.3, OAuth 2.0 Security BCP §4.14).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from hokusai._vocabulary import ErrorCode
from hokusai_auth.audit import recorder
from hokusai_auth.clock import Clock
from hokusai_auth.db.engine import Database
from hokusai_auth.errors import ServiceError, not_found
from hokusai_auth.sessions import repository
from hokusai_auth.sessions.models import RefreshToken, UserSession
from hokusai_auth.sessions.refresh_tokens import MAX_LENGTH, PREFIX, RefreshDigester, generate
from hokusai_auth.sessions.states import SessionStates
from hokusai_auth.users import repository as users
from hokusai_auth.users.models import User
from hokusai_auth.web.context import RequestContext

SESSION_NOT_FOUND = "Session not found"


class IssuedAccessToken(Protocol):
    @property
    def token(self) -> str: ...
    @property
    def expires_at(self) -> datetime: ...


class AccessTokenIssuer(Protocol):
    """What signs access tokens (signing/access_tokens.py)."""

    @property
    def ttl(self) -> int: ...

    def issue(
        self, *, user_id: uuid.UUID, session_id: uuid.UUID, wallet_address: str | None, now: datetime
    ) -> IssuedAccessToken: ...


@dataclass(frozen=True, slots=True)
class TokenPair:
    access_token: str
    expires_in: int
    refresh_token: str
    user_id: uuid.UUID
    wallet_address: str | None
    session_id: uuid.UUID


def refused(code: ErrorCode, detail: str) -> ServiceError:
    return ServiceError(401, code, detail, headers={"WWW-Authenticate": "Bearer"})


class SessionService:
    def __init__(
        self,
        *,
        database: Database,
        clock: Clock,
        access_tokens: AccessTokenIssuer,
        digester: RefreshDigester,
        refresh_ttl: int,
        states: SessionStates,
    ) -> None:
        self._db = database
        self._clock = clock
        self._access = access_tokens
        self._digester = digester
        self._refresh_ttl = timedelta(seconds=refresh_ttl)
        self._states = states

    def _new_refresh_token(self, session_id: uuid.UUID, now: datetime) -> tuple[str, RefreshToken]:
        token = generate()
        row = RefreshToken(
            id=uuid.uuid4(),
            session_id=session_id,
            digest=self._digester.digest(token),
            created_at=now,
            expires_at=now + self._refresh_ttl,
        )
        return token, row

    def _pair(self, user: User, session_id: uuid.UUID, refresh_token: str, now: datetime) -> TokenPair:
        access = self._access.issue(user_id=user.id, session_id=session_id, wallet_address=user.wallet_address, now=now)
        return TokenPair(
            access_token=access.token,
            expires_in=self._access.ttl,
            refresh_token=refresh_token,
            user_id=user.id,
            wallet_address=user.wallet_address,
            session_id=session_id,
        )

    async def start(self, session: AsyncSession, user: User, ctx: RequestContext, now: datetime) -> TokenPair:
        """A new session for ``user``, in the caller's transaction (the sign-in's)."""
        row = UserSession(
            id=uuid.uuid4(),
            user_id=user.id,
            created_at=now,
            updated_at=now,
            expires_at=now + self._refresh_ttl,
            client_ip=ctx.client_ip,
            user_agent=ctx.user_agent,
        )
        session.add(row)
        await session.flush()  # the session row first: its refresh token refers to it
        token, token_row = self._new_refresh_token(row.id, now)
        session.add(token_row)
        recorder.record(session, ctx, action="session.create", at=now, target_type="session", target_id=str(row.id))
        return self._pair(user, row.id, token, now)

    async def refresh(self, presented: str, ctx: RequestContext) -> TokenPair:
        invalid = refused(ErrorCode.INVALID_REFRESH_TOKEN, "Invalid or expired refresh token")
        if not presented.startswith(PREFIX) or len(presented) > MAX_LENGTH:
            raise invalid
        digest = self._digester.digest(presented)
        now = self._clock.now()
        reused: uuid.UUID | None = None
        async with self._db.writer.begin() as session:
            token = await repository.refresh_token(session, digest)
            if token is None:
                raise invalid
            row = await repository.get(session, token.session_id, for_update=True)
            if row is None or row.revoked_at is not None or row.expires_at <= now or token.expires_at <= now:
                raise invalid
            if token.used_at is not None or not await repository.spend(session, token.id, now):
                # Two holders of one refresh token: end the session for both, and say why.
                await repository.end(session, row.id, ErrorCode.REFRESH_TOKEN_REUSED, now)
                recorder.record(session, ctx, action="session.refresh_reused", at=now, outcome="failure",
                                target_type="session", target_id=str(row.id))  # fmt: skip
                reused = row.id
            else:
                user = await users.get(session, row.user_id)
                if user is None or not user.is_active:
                    raise invalid
                row.last_refreshed_at = now
                row.expires_at = now + self._refresh_ttl
                token_text, token_row = self._new_refresh_token(row.id, now)
                session.add(token_row)
                recorder.record(session, ctx.with_actor(f"user:{user.id}"), action="session.refresh", at=now,
                                target_type="session", target_id=str(row.id))  # fmt: skip
                pair = self._pair(user, row.id, token_text, now)
        if reused is not None:
            self._states.session_changed(reused)
            raise refused(
                ErrorCode.REFRESH_TOKEN_REUSED,
                "This refresh token was already used: the session has been ended; sign in again",
            )
        return pair

    async def end(self, user_id: uuid.UUID, session_id: uuid.UUID, ctx: RequestContext, *, reason: str) -> None:
        """End one of ``user_id``'s sessions (logout, or DELETE /auth/sessions/{sid}); another user's is 404."""
        now = self._clock.now()
        async with self._db.writer.begin() as session:
            row = await repository.get(session, session_id, for_update=True)
            if row is None or row.user_id != user_id:
                raise not_found(SESSION_NOT_FOUND)
            if await repository.end(session, session_id, reason, now):
                recorder.record(session, ctx, action=f"session.{reason}", at=now, target_type="session",
                                target_id=str(session_id))  # fmt: skip
        self._states.session_changed(session_id)

    async def open_sessions(self, user_id: uuid.UUID) -> list[UserSession]:
        async with self._db.reader() as session:
            return list(await repository.of_user(session, user_id, now=self._clock.now()))
