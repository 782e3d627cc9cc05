"""The validator's key store over the database: one indexed query by lookup digest, on a cache miss only."""

from __future__ import annotations

import ipaddress

from sqlalchemy.exc import SQLAlchemyError

from hokusai_auth.db.engine import Database
from hokusai_auth.keys import repository
from hokusai_auth.keys.models import APIKey
from hokusai_auth.users import repository as users
from hokusai_auth.validation.ports import StoredKey, StoreUnavailable
from hokusai_auth.validation.state import KeyState, hash_fingerprint


def state_of(row: APIKey, *, owner_active: bool) -> KeyState:
    """The row as the caches hold it: immutable, with the allowlist parsed once. ``owner_active``: whether the
    user who owns the key may use it (users/repository.is_active, read in the same session as the row)."""
    networks = None
    if row.allowed_ips is not None:
        networks = tuple(ipaddress.ip_network(item, strict=False) for item in row.allowed_ips)
    return KeyState(
        key_id=row.id,
        version=row.version,
        hash_fingerprint=hash_fingerprint(row.key_hash),
        user_id=row.user_id,
        organization_id=row.organization_id,
        service_id=row.service_id,
        scopes=tuple(row.scopes or ()),
        environment=row.environment,
        billing_plan=row.billing_plan,
        rate_limit_per_hour=row.rate_limit_per_hour,
        burst=row.burst,
        monthly_prediction_limit=row.monthly_prediction_limit,
        allowed_networks=networks,
        is_active=row.is_active,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
        # An organization's key belongs to the organization, not to the member who made it: disabling that
        # member's account (or removing them) leaves the organization's keys working.
        owner_active=owner_active or row.organization_id is not None,
    )


class DatabaseKeyStore:
    def __init__(self, database: Database) -> None:
        self._db = database
        self.reads = 0  # tests count these: a key warm in the shared cache costs no read

    async def find(self, digest: str) -> StoredKey | None:
        try:
            async with self._db.reader() as session:
                row = await repository.get_by_digest(session, digest)
                owner_active = row is None or await users.is_active(session, row.user_id)
        except (SQLAlchemyError, OSError) as exc:
            raise StoreUnavailable(type(exc).__name__) from exc
        self.reads += 1
        return None if row is None else StoredKey(state_of(row, owner_active=owner_active), row.key_hash)
