"""Device sign-in (RFC 8628): the use cases. Each owns its transaction, and its audit event commits with it.

1. ``create`` (public, limited per client address: DEVICE_CODES_PER_HOUR): a device code for the command line,
   a user code for the person, both living 10 minutes.
2. ``approve`` or ``deny`` (a signed-in user, from the dashboard's page or ``POST /auth/device/approve|deny``):
   once per code, while it is pending and unexpired; attempts are limited per user, so codes cannot be guessed.
3. ``token`` (public, with the device code): answers, in this order, ``expired_token`` (unknown, expired, or its
   session already handed out), ``access_denied``, ``slow_down`` (polled sooner than ``interval`` after the last
   poll: the interval grows by 5 s for good, RFC 8628 §3.5), ``authorization_pending``; once approved, a new
   session of the approving user, started in the transaction that marks the code consumed, so exactly one poll
   ever receives it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import quote

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from hokusai._vocabulary import ErrorCode
from hokusai_auth.audit import recorder
from hokusai_auth.clock import Clock
from hokusai_auth.db.engine import Database
from hokusai_auth.device import codes, repository
from hokusai_auth.device.models import DeviceAuthorization, DeviceStatus
from hokusai_auth.device.schemas import DeviceCode
from hokusai_auth.errors import ServiceError
from hokusai_auth.mailed_tokens import PurposeDigester
from hokusai_auth.ratelimit.base import Limiter
from hokusai_auth.security.address_limit import AddressLimit
from hokusai_auth.sessions.service import SessionService, TokenPair
from hokusai_auth.users import repository as users
from hokusai_auth.web.context import RequestContext

CODE_TTL = timedelta(minutes=10)
POLL_INTERVAL_S = 5
SLOW_DOWN_STEP_S = 5  # RFC 8628 §3.5: "increased by 5 seconds for this and all subsequent requests"
VERIFICATION_PATH = "/dashboard/device"
# Approvals and denials one user may attempt per hour (in bursts of APPROVAL_BURST): a person approves a few
# codes a day; someone trying codes at random is stopped long before one of 20**8 matches.
APPROVALS_PER_HOUR = 30
APPROVAL_BURST = 10
_USER_CODE_ATTEMPTS = 5  # a fresh user code colliding with a kept one 5 times in a row does not happen
TARGET = "device_authorization"


@dataclass(frozen=True, slots=True)
class PendingDevice:
    """A device sign-in waiting for a decision: what the approval page shows before the user approves."""

    user_code: str  # XXXX-XXXX
    client_name: str | None  # what the requester called itself (one line, at most 100 characters)
    client_ip: str | None  # the requester's address, as this service saw it (TRUSTED_PROXIES applies)
    user_agent: str | None  # the requester's User-Agent (e.g. hokusai-python/1.2.0 ...)
    created_at: datetime
    expires_at: datetime


def invalid_user_code(detail: str) -> ServiceError:
    return ServiceError(400, ErrorCode.INVALID_USER_CODE, detail)


def _poll_answer(code: ErrorCode, detail: str, interval: int | None = None) -> ServiceError:
    """The token endpoint's 400: RFC 8628's ``error``, the service's ``code`` (the same), and ``interval``."""
    extra: dict[str, object] = {"error": code.value}
    if interval is not None:
        extra["interval"] = interval
    return ServiceError(400, code, detail, extra=extra, headers={"Cache-Control": "no-store"})


EXPIRED = (
    "This device code is unknown, has expired (codes live 10 minutes) or was already used: start the sign-in again"
)


class DeviceAuthorizations:
    def __init__(
        self,
        *,
        database: Database,
        clock: Clock,
        sessions: SessionService,
        limiter: Limiter,
        secret_key: str,
        public_url: str,
        codes_per_hour: int,
    ) -> None:
        self._db = database
        self._clock = clock
        self._sessions = sessions
        self._device_codes = PurposeDigester(secret_key, "device-code")
        self._user_codes = PurposeDigester(secret_key, "device-user-code")
        self._verification_uri = public_url + VERIFICATION_PATH
        # A burst of the whole hour, as for registrations: a person retrying at once is not refused.
        self._code_limit = AddressLimit(limiter, "device-code", per_hour=codes_per_hour, burst=codes_per_hour)
        self._approval_limit = AddressLimit(
            limiter, "device-approval", per_hour=APPROVALS_PER_HOUR, burst=APPROVAL_BURST
        )

    # ------------------------------------------------------------------------------------------- the requester

    async def create(self, client_name: str | None, ctx: RequestContext) -> DeviceCode:
        await self._code_limit.spend(ctx.client_ip)
        device_code = codes.new_device_code()
        now = self._clock.now()
        for _ in range(_USER_CODE_ATTEMPTS):
            user_code = codes.new_user_code()
            try:
                async with self._db.writer.begin() as session:
                    await repository.forget_old(session, now)
                    digest = self._user_codes.digest(user_code)
                    if await repository.user_code_taken(session, digest):
                        continue
                    await self._add(session, device_code, digest, client_name, ctx, now)
            except IntegrityError:  # the same user code, committed by a concurrent request meanwhile
                continue
            shown = codes.display(user_code)
            return DeviceCode(
                device_code=device_code,
                user_code=shown,
                verification_uri=self._verification_uri,
                verification_uri_complete=f"{self._verification_uri}?user_code={quote(shown)}",
                expires_in=int(CODE_TTL.total_seconds()),
                interval=POLL_INTERVAL_S,
            )
        raise RuntimeError(f"no free user code in {_USER_CODE_ATTEMPTS} attempts")

    async def _add(
        self,
        session: AsyncSession,
        device_code: str,
        user_code_digest: str,
        client_name: str | None,
        ctx: RequestContext,
        now: datetime,
    ) -> None:
        row = DeviceAuthorization(
            id=uuid.uuid4(),
            device_code_digest=self._device_codes.digest(device_code),
            user_code_digest=user_code_digest,
            status=DeviceStatus.PENDING,
            client_name=client_name,
            client_ip=ctx.client_ip,
            user_agent=ctx.user_agent,
            created_at=now,
            expires_at=now + CODE_TTL,
            interval=POLL_INTERVAL_S,
        )
        session.add(row)
        await session.flush()  # here a concurrent request with the same user code meets the unique index
        recorder.record(session, ctx, action="device.create", at=now, target_type=TARGET, target_id=str(row.id),
                        details={"client_name": client_name})  # fmt: skip

    async def token(self, device_code: str, ctx: RequestContext) -> TokenPair:
        """The approving user's new session, once; every other answer is a ServiceError 400 (see the module)."""
        if not codes.plausible_device_code(device_code):
            raise _poll_answer(ErrorCode.EXPIRED_TOKEN, EXPIRED)
        digest = self._device_codes.digest(device_code)
        now = self._clock.now()
        outcome: TokenPair | ServiceError
        async with self._db.writer.begin() as session:
            row = await repository.by_device_code(session, digest, for_update=True)
            if row is None or row.expires_at <= now or row.status == DeviceStatus.CONSUMED:
                raise _poll_answer(ErrorCode.EXPIRED_TOKEN, EXPIRED)
            if row.status == DeviceStatus.DENIED:
                raise _poll_answer(ErrorCode.ACCESS_DENIED, "The sign-in request was denied in the browser")
            polled, row.last_polled_at = row.last_polled_at, now
            if polled is not None and now - polled < timedelta(seconds=row.interval):
                row.interval += SLOW_DOWN_STEP_S
                outcome = _poll_answer(
                    ErrorCode.SLOW_DOWN, f"Polled too often: wait {row.interval} s between polls", row.interval
                )
            elif row.status == DeviceStatus.PENDING:
                outcome = _poll_answer(
                    ErrorCode.AUTHORIZATION_PENDING,
                    f"Waiting for the sign-in to be approved in the browser; poll again in {row.interval} s",
                    row.interval,
                )
            else:
                outcome = await self._hand_out(session, row, ctx, now)
        if isinstance(outcome, ServiceError):
            raise outcome  # after the commit: the poll's time (and a grown interval) is kept
        return outcome

    async def _hand_out(
        self, session: AsyncSession, row: DeviceAuthorization, ctx: RequestContext, now: datetime
    ) -> TokenPair | ServiceError:
        user = await users.get(session, row.user_id) if row.user_id is not None else None
        if user is None or not user.is_active:
            return _poll_answer(ErrorCode.ACCESS_DENIED, "The user who approved this sign-in has been disabled")
        if not await repository.consume(session, row.id, now):  # not reached: the row is locked and was approved
            return _poll_answer(ErrorCode.EXPIRED_TOKEN, EXPIRED)
        acting = ctx.with_actor(f"user:{user.id}")
        user.last_login_at = now
        pair = await self._sessions.start(session, user, acting, now)
        recorder.record(session, acting, action="device.sign_in", at=now, target_type=TARGET,
                        target_id=str(row.id), details={"session_id": str(pair.session_id)})  # fmt: skip
        return pair

    # ------------------------------------------------------------------------------------------- the approver

    async def pending(self, user_code: str) -> PendingDevice | None:
        """The request waiting with ``user_code`` (any case, with or without the dash), or None when no request
        waits with it: unknown, expired, already approved or denied, or not shaped like a code at all."""
        normalized = codes.normalize(user_code)
        if normalized is None:
            return None
        async with self._db.reader() as session:
            row = await repository.by_user_code(session, self._user_codes.digest(normalized))
        if row is None or row.status != DeviceStatus.PENDING or row.expires_at <= self._clock.now():
            return None
        return PendingDevice(
            user_code=codes.display(normalized),
            client_name=row.client_name,
            client_ip=row.client_ip,
            user_agent=row.user_agent,
            created_at=row.created_at,
            expires_at=row.expires_at,
        )

    async def approve(self, user_code: str, user_id: uuid.UUID, ctx: RequestContext) -> None:
        """Let the request waiting with ``user_code`` sign in as ``user_id``: its next poll receives a new session
        of theirs. ServiceError 400 ``invalid_user_code`` when no request waits with the code, 429
        ``rate_limited`` past APPROVALS_PER_HOUR attempts of this user."""
        await self._decide(user_code, user_id, ctx, DeviceStatus.APPROVED)

    async def deny(self, user_code: str, user_id: uuid.UUID, ctx: RequestContext) -> None:
        """Refuse the request waiting with ``user_code``: its next poll answers ``access_denied``. The same
        errors as ``approve``."""
        await self._decide(user_code, user_id, ctx, DeviceStatus.DENIED)

    async def _decide(self, user_code: str, user_id: uuid.UUID, ctx: RequestContext, status: DeviceStatus) -> None:
        await self._approval_limit.spend(str(user_id))
        normalized = codes.normalize(user_code)
        if normalized is None:
            raise invalid_user_code("Not a sign-in code: a code is 8 letters, like BCDF-GHJK")
        now = self._clock.now()
        async with self._db.writer.begin() as session:
            row = await repository.by_user_code(session, self._user_codes.digest(normalized))
            if row is None or not await repository.decide(session, row.id, status, user_id, now):
                raise invalid_user_code(_why_not(row, now))
            action = "device.approve" if status == DeviceStatus.APPROVED else "device.deny"
            recorder.record(session, ctx, action=action, at=now, target_type=TARGET, target_id=str(row.id),
                            details={"client_name": row.client_name})  # fmt: skip


def _why_not(row: DeviceAuthorization | None, now: datetime) -> str:
    if row is None:
        return "No sign-in request has this code: check it against the one your command line shows"
    if row.expires_at <= now:
        return "This code has expired (codes live 10 minutes): start the sign-in again for a new one"
    return "This code was already approved or denied: start the sign-in again for a new one"
