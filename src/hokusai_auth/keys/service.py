"""Key management use cases. Each owns its transaction; audit events commit in the same transaction as the
change; caches hear about a change only after it committed."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from hokusai._keys import masked_prefix
from hokusai._vocabulary import ErrorCode
from hokusai_auth import times
from hokusai_auth.audit import recorder
from hokusai_auth.clock import Clock
from hokusai_auth.db.engine import Database
from hokusai_auth.errors import ServiceError, conflict, invalid_field, not_found
from hokusai_auth.keys import repository, tokens
from hokusai_auth.keys.changes import KeyChanges
from hokusai_auth.keys.hashing import KeyHasher
from hokusai_auth.keys.models import APIKey
from hokusai_auth.keys.schemas import APIKeyInfo, CreatedKey, CreateKeyRequest, UpdateKeyRequest
from hokusai_auth.keys.store import state_of
from hokusai_auth.users import repository as users
from hokusai_auth.validation.state import KeyState
from hokusai_auth.web import pagination
from hokusai_auth.web.context import RequestContext

KEY_NOT_FOUND = "API key not found"


@dataclass(frozen=True)
class MintedKey:
    """A key not stored yet: the key itself (shown once), its lookup digest and its bcrypt hash."""

    key: str = field(repr=False)
    digest: str
    key_hash: str = field(repr=False)


@dataclass(frozen=True)
class KeyPage:
    items: list[APIKeyInfo]
    next_cursor: str | None


def to_info(row: APIKey, now: datetime) -> APIKeyInfo:
    usable = row.is_active and (row.revoked_at is None or now < row.revoked_at)
    return APIKeyInfo(
        key_id=row.id,
        name=row.name,
        key_prefix=row.key_prefix,
        user_id=row.user_id,
        organization_id=row.organization_id,
        service_id=row.service_id,
        scopes=list(row.scopes or []),
        environment=row.environment,
        is_active=usable,
        rate_limit_per_hour=row.rate_limit_per_hour,
        burst=row.burst,
        monthly_prediction_limit=row.monthly_prediction_limit,
        allowed_ips=list(row.allowed_ips) if row.allowed_ips is not None else None,
        billing_plan=row.billing_plan,
        created_at=row.created_at,
        expires_at=row.expires_at,
        last_used_at=row.last_used_at,
        revoked_at=row.revoked_at,
        rotated_from=row.rotated_from,
        rotated_to=row.rotated_to,
    )


def encode_cursor(row: APIKey) -> str:
    return pagination.encode_cursor(row.created_at, row.id)


def parse_key_id(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise not_found(KEY_NOT_FOUND) from None


class KeyService:
    def __init__(
        self,
        *,
        database: Database,
        digester: tokens.KeyDigester,
        hasher: KeyHasher,
        clock: Clock,
        changes: KeyChanges,
        max_keys_per_user: int = 25,
    ) -> None:
        self._db = database
        self._digester = digester
        self._hasher = hasher
        self._clock = clock
        self._changes = changes
        self._max_keys_per_user = max_keys_per_user

    @property
    def database(self) -> Database:
        """For features that create keys inside their own transaction (``add_organization_key``)."""
        return self._db

    def now(self) -> datetime:
        return self._clock.now()

    async def _new_secret(self, environment: str) -> tuple[str, str, str]:
        """A fresh key, its lookup digest and its bcrypt hash. Hashing happens before any transaction opens so
        no lock is held for the ~0.4 s bcrypt takes."""
        key = tokens.generate(environment)
        return key, self._digester.digest(key), await self._hasher.hash(key)

    async def create(
        self, request: CreateKeyRequest, ctx: RequestContext, *, owner: uuid.UUID | None = None
    ) -> CreatedKey:
        """``owner``: a signed-in user creating their own key (None: an operator, who may name any owner)."""
        if owner is not None:
            users_may_not_set(request, {"user_id", "billing_plan"})
            request = request.model_copy(update={"user_id": str(owner)})
        minted = await self.mint(request.environment)
        now = self._clock.now()
        row = _new_row(request, minted, now)
        async with self._db.writer.begin() as session:
            if owner is not None:
                # The user's row lock serializes their concurrent creates, so the limit holds exactly.
                await users.get(session, owner, for_update=True)
                if await repository.count_usable(session, request.user_id, now) >= self._max_keys_per_user:
                    raise conflict(
                        ErrorCode.KEY_LIMIT_REACHED,
                        f"You already have {self._max_keys_per_user} active keys: revoke one first",
                    )
            return self._add(session, row, minted, ctx, now)

    async def mint(self, environment: str) -> MintedKey:
        """A new key for ``add_organization_key``, made before its transaction opens (bcrypt takes ~0.4 s)."""
        key, digest, key_hash = await self._new_secret(environment)
        return MintedKey(key, digest, key_hash)

    def add_organization_key(
        self,
        session: AsyncSession,
        request: CreateKeyRequest,
        minted: MintedKey,
        ctx: RequestContext,
        *,
        organization_id: uuid.UUID,
        now: datetime,
    ) -> CreatedKey:
        """An organization's key, in the caller's transaction (a claimed organization's first key commits with
        the claim, or neither does). No per-user limit: the key is the organization's."""
        return self._add(session, _new_row(request, minted, now, organization_id=organization_id), minted, ctx, now)

    async def revoke_organization_keys(
        self, session: AsyncSession, organization_id: uuid.UUID, ctx: RequestContext, now: datetime
    ) -> list[tuple[KeyState, str]]:
        """Revoke every key of a deleted organization, in the caller's transaction; ``publish`` the answer once
        it committed."""
        rows = await repository.revoke_all_of_organization(session, organization_id, now)
        for row in rows:
            recorder.record(session, ctx, action="api_key.revoke", at=now, target_type="api_key",
                            target_id=str(row.id), organization_id=organization_id,
                            details={"reason": "organization_deleted"})  # fmt: skip
        return [(state_of(row, owner_active=True), row.lookup_digest) for row in rows]

    async def bill_organization_keys(
        self, session: AsyncSession, organization_id: uuid.UUID, plan: str
    ) -> list[tuple[KeyState, str]]:
        """Move the organization's keys to its new plan, in the caller's transaction; ``publish`` the answer once
        it committed. The organization's own audit event records the change (one event, not one per key)."""
        rows = await repository.set_plan_of_organization(session, organization_id, plan, self._clock.now())
        return [(state_of(row, owner_active=True), row.lookup_digest) for row in rows]

    async def publish(self, changed: list[tuple[KeyState, str]]) -> None:
        """Tell the caches of keys changed in a transaction that has committed."""
        for state, digest in changed:
            await self._changes.key_changed(state, digest)

    def _add(
        self, session: AsyncSession, row: APIKey, minted: MintedKey, ctx: RequestContext, now: datetime
    ) -> CreatedKey:
        repository.add(session, row)
        recorder.record(
            session,
            ctx,
            action="api_key.create",
            at=now,
            target_type="api_key",
            target_id=str(row.id),
            organization_id=row.organization_id,
            details=_settings_of(row),
        )
        return CreatedKey(api_key=minted.key, key_id=row.id, key_info=to_info(row, now))

    async def get(self, key_id: uuid.UUID, *, owner: uuid.UUID | None = None) -> APIKeyInfo:
        async with self._db.reader() as session:
            row = _owned(await repository.get(session, key_id), owner)
        return to_info(row, self._clock.now())

    async def list(
        self, flt: repository.KeyFilter, limit: int, cursor: str | None, *, active_only: bool = False
    ) -> KeyPage:
        after = pagination.decode_cursor(cursor) if cursor else None
        now = self._clock.now()
        if active_only:
            flt = replace(flt, active_at=now)
        async with self._db.reader() as session:
            rows = await repository.page(session, flt, limit + 1, after)
        more = len(rows) > limit
        rows = rows[:limit]
        return KeyPage([to_info(row, now) for row in rows], encode_cursor(rows[-1]) if more and rows else None)

    async def update(
        self, key_id: uuid.UUID, request: UpdateKeyRequest, ctx: RequestContext, *, owner: uuid.UUID | None = None
    ) -> APIKeyInfo:
        if owner is not None:
            users_may_not_set(request, {"billing_plan", "allow_expiry_extension"})
        fields = request.model_fields_set - {"allow_expiry_extension"}
        now = self._clock.now()
        async with self._db.writer.begin() as session:
            row = _owned(await repository.get(session, key_id, for_update=True), owner)
            changes = {name: getattr(request, name) for name in sorted(fields)}
            _check_update(row, changes, request.allow_expiry_extension, now)
            changed = {name: value for name, value in changes.items() if getattr(row, name) != value}
            if changed:
                for name, value in changed.items():
                    setattr(row, name, value)
                row.updated_at = now
                row.version += 1
                recorder.record(
                    session,
                    ctx,
                    action="api_key.update",
                    at=now,
                    target_type="api_key",
                    target_id=str(row.id),
                    organization_id=row.organization_id,
                    details={"changed": {k: _jsonable(v) for k, v in changed.items()}},
                )
                state = state_of(row, owner_active=await users.is_active(session, row.user_id))
        if changed:
            await self._changes.key_changed(state, row.lookup_digest)
        return to_info(row, now)

    async def revoke(self, key_id: uuid.UUID, ctx: RequestContext, *, owner: uuid.UUID | None = None) -> None:
        now = self._clock.now()
        async with self._db.writer.begin() as session:
            row = _owned(await repository.get(session, key_id, for_update=True), owner)
            already = not row.is_active
            if not already:
                row.is_active = False
                row.revoked_at = now if row.revoked_at is None or row.revoked_at > now else row.revoked_at
                row.updated_at = now
                row.version += 1
            recorder.record(
                session,
                ctx,
                action="api_key.revoke",
                at=now,
                target_type="api_key",
                target_id=str(row.id),
                organization_id=row.organization_id,
                details={"already_revoked": True} if already else None,
            )
            state = state_of(row, owner_active=await users.is_active(session, row.user_id))
        if not already:
            await self._changes.key_changed(state, row.lookup_digest)

    async def rotate(
        self, key_id: uuid.UUID, grace_seconds: int, ctx: RequestContext, *, owner: uuid.UUID | None = None
    ) -> CreatedKey:
        async with self._db.reader() as session:
            current = _owned(await repository.get(session, key_id), owner)
        _check_rotatable(current, self._clock.now())  # fail fast before paying for bcrypt
        key, digest, key_hash = await self._new_secret(current.environment)

        now = self._clock.now()
        async with self._db.writer.begin() as session:
            old = await repository.get(session, key_id, for_update=True)
            if old is None:
                raise not_found(KEY_NOT_FOUND)
            _check_rotatable(old, now)
            # A subtraction of datetimes cannot overflow; the addition is clamped (a stored expiry may be year 9999).
            lifetime = old.expires_at - old.created_at if old.expires_at else None
            new = APIKey(
                id=uuid.uuid4(),
                name=old.name,
                key_prefix=masked_prefix(key),
                lookup_digest=digest,
                key_hash=key_hash,
                user_id=old.user_id,
                organization_id=old.organization_id,
                service_id=old.service_id,
                scopes=list(old.scopes or []),
                environment=old.environment,
                billing_plan=old.billing_plan,
                rate_limit_per_hour=old.rate_limit_per_hour,
                burst=old.burst,
                monthly_prediction_limit=old.monthly_prediction_limit,
                allowed_ips=list(old.allowed_ips) if old.allowed_ips is not None else None,
                is_active=True,
                created_at=now,
                updated_at=now,
                version=1,
                expires_at=times.add(now, lifetime) if lifetime is not None else None,
                rotated_from=old.id,
            )
            stops_at = times.add(now, timedelta(seconds=grace_seconds))
            if old.expires_at is not None and old.expires_at < stops_at:
                stops_at = old.expires_at  # a grace period never outlives the key
            repository.add(session, new)
            await session.flush()
            if not await repository.claim_rotation(session, old.id, new.id, stops_at, now):
                raise conflict(ErrorCode.ALREADY_ROTATED, "API key has already been rotated")
            recorder.record(
                session,
                ctx,
                action="api_key.rotate",
                at=now,
                target_type="api_key",
                target_id=str(old.id),
                organization_id=old.organization_id,
                details={
                    "new_key_id": str(new.id),
                    "grace_period_seconds": grace_seconds,
                    "old_key_stops_at": stops_at.isoformat(),
                },
            )
            await session.refresh(old)  # the conditional UPDATE changed it behind the ORM's back
            old_state = state_of(old, owner_active=await users.is_active(session, old.user_id))
        await self._changes.key_changed(old_state, old.lookup_digest)
        return CreatedKey(api_key=key, key_id=new.id, key_info=to_info(new, now))


def _new_row(
    request: CreateKeyRequest, minted: MintedKey, now: datetime, *, organization_id: uuid.UUID | None = None
) -> APIKey:
    return APIKey(
        id=uuid.uuid4(),
        name=request.name,
        key_prefix=masked_prefix(minted.key),
        lookup_digest=minted.digest,
        key_hash=minted.key_hash,
        user_id=request.user_id,
        organization_id=organization_id,
        service_id=request.service_id,
        scopes=request.scopes,
        environment=request.environment,
        billing_plan=request.billing_plan,
        rate_limit_per_hour=request.rate_limit_per_hour,
        burst=request.burst,
        monthly_prediction_limit=request.monthly_prediction_limit,
        allowed_ips=request.allowed_ips,
        is_active=True,
        created_at=now,
        updated_at=now,
        version=1,
        expires_at=now + timedelta(days=request.expires_in_days) if request.expires_in_days else None,
    )


def _owned(row: APIKey | None, owner: uuid.UUID | None) -> APIKey:
    """The key, if it exists and ``owner`` (when given) owns it: another user's key is "not found" to a user,
    exactly like a key that does not exist, so ids cannot be probed. A key a user made for an organization is
    the organization's: it is managed under /api/v1/organizations, by role, and not here (a member removed
    from the organization keeps no hold on it)."""
    if row is None or (owner is not None and (row.user_id != str(owner) or row.organization_id is not None)):
        raise not_found(KEY_NOT_FOUND)
    return row


def users_may_not_set(request: BaseModel, fields: set[str]) -> None:
    given = sorted(fields & request.model_fields_set)
    if given:
        raise ServiceError(
            403, ErrorCode.FORBIDDEN, f"{', '.join(given)}: only an operator (the admin token) may set this"
        )


def _check_rotatable(row: APIKey, now: datetime) -> None:
    if row.rotated_to is not None:
        raise conflict(ErrorCode.ALREADY_ROTATED, "API key has already been rotated")
    if not row.is_active or (row.revoked_at is not None and row.revoked_at <= now):
        raise conflict(ErrorCode.KEY_REVOKED, "API key is revoked and cannot be rotated")
    if row.expires_at is not None and row.expires_at <= now:
        raise conflict(ErrorCode.KEY_EXPIRED, "API key has expired and cannot be rotated; create a new key")


def _check_update(row: APIKey, changes: dict[str, Any], allow_extension: bool, now: datetime) -> None:
    limit = changes.get("rate_limit_per_hour", row.rate_limit_per_hour)
    burst = changes.get("burst", row.burst)
    if burst is not None and burst > limit:
        field = "burst" if "burst" in changes else "rate_limit_per_hour"
        raise invalid_field(field, f"burst ({burst}) cannot exceed rate_limit_per_hour ({limit})")
    if "expires_at" in changes:
        new_expiry: datetime | None = changes["expires_at"]
        if new_expiry is not None:
            try:  # the schema checks this too; again here, so no caller stores a time that overflows later
                times.check(new_expiry)
            except ValueError as exc:
                raise invalid_field("expires_at", str(exc)) from None
        if new_expiry is not None and new_expiry <= now:
            raise invalid_field("expires_at", "must be in the future (use DELETE to revoke a key now)")
        extends = (new_expiry is None and row.expires_at is not None) or (
            new_expiry is not None and row.expires_at is not None and new_expiry > row.expires_at
        )
        if extends and not allow_extension:
            raise invalid_field(
                "expires_at", "is later than the key's current expiry; set allow_expiry_extension to true to extend"
            )


def _jsonable(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def _settings_of(row: APIKey) -> dict[str, Any]:
    names: Sequence[str] = (
        "name",
        "service_id",
        "scopes",
        "environment",
        "rate_limit_per_hour",
        "burst",
        "monthly_prediction_limit",
        "allowed_ips",
        "billing_plan",
        "user_id",
        "key_prefix",
    )
    details = {name: getattr(row, name) for name in names}
    details["expires_at"] = _jsonable(row.expires_at)
    return details
