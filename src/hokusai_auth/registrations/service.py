"""Registration, approval and the claim link. Each use case owns its transaction; its mails and audit events
commit with it (a mail exists exactly when the change that causes it does).

No enumeration: ``register`` answers an address that already holds a registration (pending or approved) exactly as
it answers a new one: the same fields, a fresh id, the first status, the current time. Only the owner of the
address learns the difference, by mail; those mails are limited per address (REPEAT_MAILS_PER_HOUR), silently, so
the service cannot be used to flood a mailbox. ``status`` does tell whether an address registered (the contract's
lookup), and is limited per client address like every public endpoint here.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from hokusai._vocabulary import Environment, ErrorCode, RegistrationStatus, Service, TokenFailure
from hokusai_auth import mailed_tokens as tokens
from hokusai_auth.audit import recorder
from hokusai_auth.clock import Clock
from hokusai_auth.db.engine import Database
from hokusai_auth.errors import ServiceError, not_found
from hokusai_auth.keys.schemas import CreateKeyRequest
from hokusai_auth.keys.service import KeyService
from hokusai_auth.mail.outbox import enqueue
from hokusai_auth.organizations import repository as organizations
from hokusai_auth.organizations.models import OWNER, Organization, OrganizationMember
from hokusai_auth.organizations.service import MembersChanged
from hokusai_auth.ratelimit.base import Limiter, LimiterUnavailable
from hokusai_auth.registrations import mails, repository
from hokusai_auth.registrations.models import OrganizationClaim, Registration, RegistrationVerification
from hokusai_auth.registrations.schemas import (
    ClaimedOrganization,
    Decision,
    DecisionRequest,
    RegisterRequest,
    RegistrationInfo,
    RegistrationReceipt,
    RegistrationState,
    VerifiedEmail,
)
from hokusai_auth.security.address_limit import AddressLimit
from hokusai_auth.text_fields import normalize_email
from hokusai_auth.web import pagination
from hokusai_auth.web.context import RequestContext

VERIFICATION_TTL = timedelta(hours=24)
CLAIM_TTL = timedelta(days=7)
VERIFICATION_PREFIX = "hkv_"
CLAIM_PREFIX = "hkc_"
REPEAT_MAILS_PER_HOUR = 3  # "someone registered again" mails to one address
REGISTRATION_NOT_FOUND = "Registration not found"
NO_REGISTRATION = "No registration was found for this address"
ORGANIZATION_KEY_NAME_MAX = 100


@dataclass(frozen=True)
class RegistrationPage:
    items: list[RegistrationInfo]
    next_cursor: str | None


def parse_registration_id(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise not_found(REGISTRATION_NOT_FOUND) from None


def invalid_token(detail: str) -> ServiceError:
    return ServiceError(400, TokenFailure.INVALID, detail)


class Registrations:
    def __init__(
        self,
        *,
        database: Database,
        clock: Clock,
        keys: KeyService,
        members_changed: MembersChanged,
        limiter: Limiter,
        secret_key: str,
        public_url: str,
        registrations_per_hour: int,
        status_checks_per_hour: int,
    ) -> None:
        self._db = database
        self._clock = clock
        self._keys = keys
        self._members_changed = members_changed
        self._limiter = limiter
        self._public_url = public_url
        self._verifications = tokens.PurposeDigester(secret_key, "registration-verification")
        self._claims = tokens.PurposeDigester(secret_key, "organization-claim")
        self._addresses = tokens.PurposeDigester(secret_key, "registration-address")  # limiter buckets name no address
        # A burst of the whole hour: "10 an hour" lets a company retry a form at once, then refills over the hour.
        self._register_limit = AddressLimit(
            limiter, "registration", per_hour=registrations_per_hour, burst=registrations_per_hour
        )
        self._status_limit = AddressLimit(
            limiter, "registration-status", per_hour=status_checks_per_hour, burst=status_checks_per_hour
        )
        self._verify_limit = AddressLimit(
            limiter, "registration-verify", per_hour=status_checks_per_hour, burst=status_checks_per_hour
        )

    # ------------------------------------------------------------------------------------------- public

    async def register(self, request: RegisterRequest, ctx: RequestContext) -> RegistrationReceipt:
        await self._register_limit.spend(ctx.client_ip)
        now = self._clock.now()
        receipt = RegistrationReceipt(
            id=uuid.uuid4(),
            organization_name=request.organization_name,
            contact_email=request.contact_email,
            contact_name=request.contact_name,
            status=RegistrationStatus.PENDING_EMAIL_VERIFICATION,
            created_at=now,
        )
        mail_again: bool | None = None
        for attempt in range(2):
            try:
                async with self._db.writer.begin() as session:
                    existing = await repository.holding(session, request.contact_email)
                    if existing is None:
                        await self._create(session, request, receipt.id, ctx, now)
                    else:
                        if mail_again is None:  # asked once per request
                            mail_again = await self._may_mail_again(request.contact_email)
                        await self._repeat(session, existing, mail_again, ctx, now)
                return receipt
            except IntegrityError:
                # A concurrent registration of this address committed first (the partial unique index): answer
                # as for an address that holds a registration.
                if attempt:
                    raise
        raise AssertionError("unreachable")

    async def _create(
        self,
        session: AsyncSession,
        request: RegisterRequest,
        registration_id: uuid.UUID,
        ctx: RequestContext,
        now: datetime,
    ) -> None:
        row = Registration(
            id=registration_id,
            organization_name=request.organization_name,
            contact_email=request.contact_email,
            contact_name=request.contact_name,
            use_case=request.use_case,
            website_url=request.website_url,
            status=RegistrationStatus.PENDING_EMAIL_VERIFICATION,
            created_at=now,
            updated_at=now,
        )
        session.add(row)
        await session.flush()  # here a concurrent registration of the address meets the unique index
        token = self._new_verification(session, row.id, now)
        enqueue(session, mails.verification(self._public_url, row.contact_email, row.contact_name,
                                            row.organization_name, token), now)  # fmt: skip
        recorder.record(session, ctx, action="registration.create", at=now, target_type="registration",
                        target_id=str(row.id), details={"organization_name": row.organization_name,
                                                        "contact_email": row.contact_email})  # fmt: skip

    async def _repeat(
        self, session: AsyncSession, existing: Registration, mail_again: bool, ctx: RequestContext, now: datetime
    ) -> None:
        if mail_again:
            token = None
            if existing.status == RegistrationStatus.PENDING_EMAIL_VERIFICATION:
                token = self._new_verification(session, existing.id, now)  # the first link may be lost or expired
            enqueue(session, mails.repeated(self._public_url, existing.contact_email, existing.status, token), now)
        recorder.record(session, ctx, action="registration.repeat", at=now, target_type="registration",
                        target_id=str(existing.id), details={"mailed": mail_again})  # fmt: skip

    async def _may_mail_again(self, email: str) -> bool:
        bucket = f"registration-repeat:{self._addresses.digest(email)}"
        try:
            decision = await self._limiter.hit(bucket, REPEAT_MAILS_PER_HOUR, REPEAT_MAILS_PER_HOUR, 1)
        except LimiterUnavailable:
            return True
        return decision.allowed

    def _new_verification(self, session: AsyncSession, registration_id: uuid.UUID, now: datetime) -> str:
        token = tokens.generate(VERIFICATION_PREFIX)
        session.add(
            RegistrationVerification(
                id=uuid.uuid4(),
                registration_id=registration_id,
                digest=self._verifications.digest(token),
                created_at=now,
                expires_at=now + VERIFICATION_TTL,
            )
        )
        return token

    async def verify_email(self, token: str, ctx: RequestContext) -> VerifiedEmail:
        await self._verify_limit.spend(ctx.client_ip)
        invalid = invalid_token("This verification link is unknown, used or expired; register again for a new one")
        if not tokens.plausible(token, VERIFICATION_PREFIX):
            raise invalid
        now = self._clock.now()
        async with self._db.writer.begin() as session:
            row = await repository.verification(session, self._verifications.digest(token))
            if row is None or not await repository.spend_verification(session, row.id, now):
                raise invalid
            registration = await repository.get(session, row.registration_id, for_update=True)
            if registration is None or registration.status != RegistrationStatus.PENDING_EMAIL_VERIFICATION:
                raise invalid
            registration.status = RegistrationStatus.PENDING_APPROVAL
            registration.email_verified_at = now
            registration.updated_at = now
            await repository.spend_every_verification(session, registration.id, now)
            recorder.record(session, ctx, action="registration.verify_email", at=now, target_type="registration",
                            target_id=str(registration.id))  # fmt: skip
        return VerifiedEmail(status=RegistrationStatus.PENDING_APPROVAL)

    async def status(self, email: str, ctx: RequestContext) -> RegistrationState:
        """Unknown and invalid addresses are the same 404."""
        await self._status_limit.spend(ctx.client_ip)
        normalized = normalize_email(email)
        if normalized is None:
            raise not_found(NO_REGISTRATION)
        async with self._db.reader() as session:
            # The one that holds the address, else the newest (rejected) one.
            row = await repository.holding(session, normalized) or await repository.latest(session, normalized)
        if row is None:
            raise not_found(NO_REGISTRATION)
        return RegistrationState(status=RegistrationStatus(row.status), created_at=row.created_at)

    # ------------------------------------------------------------------------------------------- operators

    async def list(self, status: RegistrationStatus | None, limit: int, cursor: str | None) -> RegistrationPage:
        after = pagination.decode_cursor(cursor) if cursor else None
        async with self._db.reader() as session:
            rows = await repository.page(session, status, limit + 1, after)
        more = len(rows) > limit
        rows = rows[:limit]
        next_cursor = pagination.encode_cursor(rows[-1].created_at, rows[-1].id) if more and rows else None
        return RegistrationPage([RegistrationInfo.model_validate(row) for row in rows], next_cursor)

    async def get(self, registration_id: uuid.UUID) -> RegistrationInfo:
        async with self._db.reader() as session:
            row = await repository.get(session, registration_id)
        if row is None:
            raise not_found(REGISTRATION_NOT_FOUND)
        return RegistrationInfo.model_validate(row)

    async def decide(
        self, registration_id: uuid.UUID, request: DecisionRequest, ctx: RequestContext
    ) -> RegistrationInfo:
        """Approve (the organization and its claim link) or reject (the reason mailed): once, and only after the
        address was verified. A second decision, even the same one, is 409 ``not_pending_approval``."""
        now = self._clock.now()
        async with self._db.writer.begin() as session:
            row = await repository.get(session, registration_id, for_update=True)
            if row is None:
                raise not_found(REGISTRATION_NOT_FOUND)
            if row.status != RegistrationStatus.PENDING_APPROVAL:
                raise ServiceError(
                    409,
                    ErrorCode.NOT_PENDING_APPROVAL,
                    f"Only a registration pending approval can be decided; this one is {row.status}",
                    extra={"status": row.status},
                )
            row.status = request.status.value
            row.decided_at = now
            row.decided_by = ctx.actor
            row.updated_at = now
            if request.status is Decision.APPROVED:
                await self._approve(session, row, request.reason, ctx, now)
            else:
                row.rejection_reason = request.reason
                enqueue(session, mails.rejected(row.contact_email, row.contact_name, row.organization_name,
                                                request.reason), now)  # fmt: skip
                recorder.record(session, ctx, action="registration.reject", at=now, target_type="registration",
                                target_id=str(row.id), details={"reason": request.reason})  # fmt: skip
        return RegistrationInfo.model_validate(row)

    async def _approve(
        self, session: AsyncSession, row: Registration, reason: str | None, ctx: RequestContext, now: datetime
    ) -> None:
        organization = Organization(id=uuid.uuid4(), name=row.organization_name, created_at=now, updated_at=now)
        session.add(organization)
        await session.flush()  # the organization first: the registration and the claim refer to it
        row.organization_id = organization.id
        token = tokens.generate(CLAIM_PREFIX)
        expires_at = now + CLAIM_TTL
        session.add(
            OrganizationClaim(
                id=uuid.uuid4(),
                organization_id=organization.id,
                registration_id=row.id,
                digest=self._claims.digest(token),
                created_at=now,
                expires_at=expires_at,
            )
        )
        enqueue(session, mails.approved(self._public_url, row.contact_email, row.contact_name,
                                        row.organization_name, token, expires_at), now)  # fmt: skip
        recorder.record(session, ctx, action="registration.approve", at=now, target_type="registration",
                        target_id=str(row.id), organization_id=organization.id,
                        details={"reason": reason, "claim_expires_at": expires_at.isoformat()})  # fmt: skip
        recorder.record(session, ctx, action="organization.create", at=now, target_type="organization",
                        target_id=str(organization.id), organization_id=organization.id,
                        details={"name": organization.name, "registration_id": str(row.id)})  # fmt: skip

    # ------------------------------------------------------------------------------------------- the claim

    async def claim(self, token: str, user_id: uuid.UUID, ctx: RequestContext) -> ClaimedOrganization:
        """The signed-in ``user_id`` becomes the organization's Owner and receives its first production key,
        once: the claim, the membership and the key commit together."""
        if not tokens.plausible(token, CLAIM_PREFIX):
            raise _unknown_claim()
        digest = self._claims.digest(token)
        async with self._db.reader() as session:
            _check_claim(await repository.claim(session, digest), self._clock.now())
        minted = await self._keys.mint(Environment.PRODUCTION.value)  # before the transaction: bcrypt is slow
        now = self._clock.now()
        async with self._db.writer.begin() as session:
            row = _check_claim(await repository.claim(session, digest, for_update=True), now)  # a racer waits here
            if not await repository.spend_claim(session, row.id, user_id, now):
                raise _unknown_claim()  # not reached: the locked row was checked unclaimed and unexpired
            organization = await session.get(Organization, row.organization_id)
            if organization is None or organization.deleted_at is not None:
                raise _unknown_claim()
            session.add(OrganizationMember(organization_id=organization.id, user_id=user_id, role=OWNER,
                                           created_at=now, updated_at=now))  # fmt: skip
            recorder.record(session, ctx, action="organization.claim", at=now, target_type="organization",
                            target_id=str(organization.id), organization_id=organization.id,
                            details={"role": OWNER})  # fmt: skip
            request = CreateKeyRequest(
                name=f"{organization.name[: ORGANIZATION_KEY_NAME_MAX - 11].strip()} production",
                service_id=Service.PLATFORM.value,
                environment=Environment.PRODUCTION.value,
                billing_plan=organization.billing_plan,
                user_id=str(user_id),
            )
            created = self._keys.add_organization_key(
                session, request, minted, ctx, organization_id=organization.id, now=now
            )
            await organizations.touch_users(session, [user_id], now)
        self._members_changed([user_id])
        return ClaimedOrganization(**created.model_dump(), organization_id=organization.id)


def _unknown_claim() -> ServiceError:
    return invalid_token("This claim link is unknown or has expired; ask the Hokusai operators for a new one")


def _check_claim(row: OrganizationClaim | None, now: datetime) -> OrganizationClaim:
    """Refuse a claim that cannot be spent: used (410, whatever its age), unknown or expired (400)."""
    if row is not None and row.claimed_at is not None:
        raise ServiceError(410, ErrorCode.CLAIMED, "This claim link was already used: the organization has its Owner")
    if row is None or row.expires_at <= now:
        raise _unknown_claim()
    return row
