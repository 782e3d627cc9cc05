"""The service's signing keys: one signs, every published one verifies; shared by all instances through the
signing_keys table.

- **Current**: the newest key not retired. Every instance signs with it; ``load()`` makes the first one when
  the table has none (two instances starting together agree on one: see ``_create_first``).
- **Rotation** (``hokusai-auth rotate-signing-key``, or ``rotate()``): a new key becomes current and the previous
  one is retired. A retired key stays **published** (in the JWKS, accepted by ``verification_keys``) until
  ``retired_at + access_token_ttl + handover_s``: the tokens it signed have expired by then. ``handover_s``
  covers the instances that still sign with it until their next reload (every ``reload_interval_s``; see
  ``start``), so it must be at least that interval. Rows unpublished for ``PURGE_AFTER`` are deleted.
- **Other instances** learn of a rotation by reloading: periodically (``start``), and at once when a token names
  a key they do not know (``reload_if_unknown``, at most once a second, so made-up kids cannot hammer the
  database).

Only the current private key is ever unsealed; the others are kept as public keys. A SECRET_KEY that cannot
unseal it stops ``load()`` with an ``UnsealError`` that says so.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from sqlalchemy import delete, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from hokusai import _jws
from hokusai_auth.audit import recorder
from hokusai_auth.background import Periodic
from hokusai_auth.clock import Clock
from hokusai_auth.db.engine import Database
from hokusai_auth.errors import unavailable
from hokusai_auth.signing.models import SigningKey
from hokusai_auth.signing.sealing import Sealer, UnsealError
from hokusai_auth.web.context import RequestContext

RELOAD_INTERVAL_S = 30.0
HANDOVER_S = 60.0  # >= RELOAD_INTERVAL_S: one missed reload is tolerated too
UNKNOWN_KID_RELOAD_INTERVAL_S = 1.0
PURGE_AFTER = timedelta(days=7)
# Rotation is an operator's command on the server (``hokusai-auth rotate-signing-key``), not a request: the audit
# event names the command as its actor (actor_type system).
_OPERATOR_COMMAND = RequestContext(
    actor="hokusai-auth", client_ip=None, user_agent="rotate-signing-key", request_id=None
)


class SigningKeyError(Exception):
    """The signing keys in the database cannot be used (the message says why and what to do)."""


@dataclass(frozen=True)
class PublishedKey:
    kid: str
    public_key: Ed25519PublicKey
    created_at: datetime
    retired_at: datetime | None


@dataclass(frozen=True)
class Rotation:
    """What ``rotate()`` did: the new current key, the keys it retired, and until when they stay published."""

    kid: str
    retired: tuple[str, ...]
    retired_published_until: datetime | None


@dataclass(frozen=True)
class _Published:
    """The keys published at one moment, until ``valid_until`` (when the next retired key's window ends)."""

    keys: Mapping[str, Ed25519PublicKey]
    jwks: dict[str, Any]
    valid_until: float


@dataclass(frozen=True)
class _Snapshot:
    """What one load read: immutable, swapped whole, so a request never sees half a reload."""

    kid: str
    private_key: Ed25519PrivateKey
    keys: tuple[PublishedKey, ...]  # newest first


class SigningKeyRing:
    def __init__(
        self,
        database: Database,
        secret_key: str,
        clock: Clock,
        access_token_ttl: int,
        *,
        handover_s: float = HANDOVER_S,
        reload_interval_s: float = RELOAD_INTERVAL_S,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._db = database
        self._sealer = Sealer(secret_key)
        self._clock = clock
        self._ttl = access_token_ttl
        self._handover_s = handover_s
        self._monotonic = monotonic
        self._snapshot: _Snapshot | None = None
        self._published = _Published(MappingProxyType({}), {"keys": []}, -math.inf)
        self._private: dict[str, Ed25519PrivateKey] = {}  # unsealed once per kid
        self._reload_lock = asyncio.Lock()
        self._last_unknown_reload: float | None = None
        self.reloads = 0
        self._refresher = Periodic("signing key reload", self.reload, lambda: reload_interval_s)

    # -------------------------------------------------------------------------------------------- reading

    @property
    def current(self) -> tuple[str, Ed25519PrivateKey]:
        """(kid, private key) to sign with."""
        snapshot = self._require()
        return snapshot.kid, snapshot.private_key

    def published_until(self, retired_at: datetime) -> datetime:
        """When a key retired at ``retired_at`` leaves the JWKS: every token it signed has expired by then."""
        return retired_at + timedelta(seconds=self._ttl + self._handover_s)

    def verification_keys(self) -> Mapping[str, Ed25519PublicKey]:
        """kid -> public key of every published key (the current one, and retired ones still in their window)."""
        return self._view().keys

    def jwks(self) -> dict[str, Any]:
        """The published keys as a JWK Set (RFC 7517), newest first (a copy: the caller may change it). 503 while
        the keys are not loaded: an empty set would tell verifiers, for as long as they cache it, that no token is
        good."""
        self._require()
        return {"keys": [dict(jwk) for jwk in self._view().jwks["keys"]]}

    def _view(self) -> _Published:
        published = self._published
        now = self._clock.timestamp()
        if now >= published.valid_until:
            published = self._published = self._publish(self._require(), now)
        return published

    def _publish(self, snapshot: _Snapshot, now: float) -> _Published:
        keys: dict[str, Ed25519PublicKey] = {}
        valid_until = math.inf
        for key in snapshot.keys:
            if key.retired_at is not None:
                until = self.published_until(key.retired_at).timestamp()
                if now >= until:
                    continue
                valid_until = min(valid_until, until)
            keys[key.kid] = key.public_key
        jwks = {"keys": [_jws.to_jwk(kid, public_key) for kid, public_key in keys.items()]}
        return _Published(MappingProxyType(keys), jwks, valid_until)

    def _require(self) -> _Snapshot:
        if self._snapshot is None:  # the database was down at start: sign-in waits for it like everything else
            raise unavailable()
        return self._snapshot

    # -------------------------------------------------------------------------------------------- loading

    async def load(self) -> None:
        """Read every key; make the first one if there is no current key. Raises ``UnsealError`` when this
        SECRET_KEY cannot open the current key."""
        rows = await self._read()
        if not any(row.retired_at is None for row in rows):
            rows = await self._create_first()
        self._install(rows)

    async def reload(self) -> None:
        """Read the keys again (another instance or the CLI may have rotated); load them if the database was
        down when the service started."""
        if self._snapshot is None:
            await self.load()
            return
        async with self._reload_lock:
            self._install(await self._read())
            self.reloads += 1

    async def reload_if_unknown(self, kid: str) -> bool:
        """Whether ``kid`` is published, reloading first if it is not and no such reload happened in the last
        second (concurrent callers share one reload)."""
        if kid in self.verification_keys():
            return True
        started = self._monotonic()
        async with self._reload_lock:
            if kid in self.verification_keys():  # another caller reloaded while this one waited
                return True
            last = self._last_unknown_reload
            if last is not None and 0 <= started - last < UNKNOWN_KID_RELOAD_INTERVAL_S:
                return False
            self._last_unknown_reload = self._monotonic()
            self._install(await self._read())
            self.reloads += 1
        return kid in self.verification_keys()

    def start(self) -> None:
        """Reload every ``reload_interval_s``, so this instance stops signing with a key retired elsewhere."""
        self._refresher.start()

    async def stop(self) -> None:
        await self._refresher.stop()

    async def _read(self) -> list[SigningKey]:
        async with self._db.reader() as session:
            return await _all_rows(session)

    def _install(self, rows: list[SigningKey]) -> None:
        # Keys not retired first (newest first), then the latest retired; keys of another algorithm (none yet)
        # are left to the code that knows them.
        rows = sorted(
            (row for row in rows if row.algorithm == _jws.ALGORITHM),
            key=lambda row: (row.retired_at is None, row.retired_at or row.created_at, row.created_at, row.kid),
            reverse=True,
        )
        current = next((row for row in rows if row.retired_at is None), None)
        if current is None:
            if self._snapshot is not None:  # every key retired by hand, say: keep signing with what we have
                return
            raise SigningKeyError("no current signing key in signing_keys; restart the service to make one")
        keys = tuple(PublishedKey(row.kid, _public_key(row), row.created_at, row.retired_at) for row in rows)
        private_key = self._private.get(current.kid)
        if private_key is None:
            private_key = Ed25519PrivateKey.from_private_bytes(
                self._sealer.unseal(current.private_key_sealed, kid=current.kid)
            )
            if _jws.public_bytes(private_key.public_key()) != _jws.b64decode(current.public_key):
                raise SigningKeyError(f"signing key {current.kid}: its public key does not match its private key")
            self._private = {current.kid: private_key}
        self._snapshot = _Snapshot(current.kid, private_key, keys)
        self._published = self._publish(self._snapshot, self._clock.timestamp())

    # -------------------------------------------------------------------------------------------- writing

    async def _create_first(self) -> list[SigningKey]:
        """Add a key unless one is current by the time this transaction holds the lock: on SQLite the write
        transaction serializes instances (BEGIN IMMEDIATE), on PostgreSQL a table lock does. Should an insert
        still collide, the keys are read again: both instances then use what is there."""
        try:
            async with self._db.writer.begin() as session:
                await _lock(session)
                rows = await _all_rows(session)
                if not any(row.retired_at is None for row in rows):
                    rows.append(self._new_row(session))
                return rows
        except IntegrityError:
            return await self._read()

    async def rotate(self) -> Rotation:
        """Make a new key current; retire the others; delete keys unpublished long ago."""
        now = self._clock.now()
        async with self._db.writer.begin() as session:
            await _lock(session)
            retired = tuple(row.kid for row in await _all_rows(session) if row.retired_at is None)
            await session.execute(update(SigningKey).where(SigningKey.kid.in_(retired)).values(retired_at=now))
            new = self._new_row(session)
            purge_before = now - timedelta(seconds=self._ttl + self._handover_s) - PURGE_AFTER
            await session.execute(delete(SigningKey).where(SigningKey.retired_at < purge_before))
            recorder.record(session, _OPERATOR_COMMAND, action="signing_key.rotate", at=now, target_type="signing_key",
                            target_id=new.kid, details={"retired": list(retired)})  # fmt: skip
        await self.reload()
        return Rotation(new.kid, retired, self.published_until(now) if retired else None)

    def _new_row(self, session: AsyncSession) -> SigningKey:
        private_key = Ed25519PrivateKey.generate()
        public_key = private_key.public_key()
        kid = _jws.thumbprint(public_key)
        raw = private_key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        row = SigningKey(
            kid=kid,
            algorithm=_jws.ALGORITHM,
            public_key=_jws.b64encode(_jws.public_bytes(public_key)),
            private_key_sealed=self._sealer.seal(raw, kid=kid),
            created_at=self._clock.now(),
            retired_at=None,
        )
        session.add(row)
        self._private[kid] = private_key  # this instance need not unseal what it just made
        return row


async def _all_rows(session: AsyncSession) -> list[SigningKey]:
    return list((await session.execute(select(SigningKey))).scalars())


async def _lock(session: AsyncSession) -> None:
    """Serialize key creation and rotation between instances. SQLite's write transactions already are."""
    if session.get_bind().dialect.name == "postgresql":
        # Conflicts with itself and with writes, not with readers: verification never waits on it.
        await session.execute(text("LOCK TABLE signing_keys IN SHARE ROW EXCLUSIVE MODE"))


def _public_key(row: SigningKey) -> Ed25519PublicKey:
    try:
        raw = _jws.b64decode(row.public_key)
        return Ed25519PublicKey.from_public_bytes(raw)
    except (_jws.InvalidToken, ValueError):
        raise SigningKeyError(f"signing key {row.kid}: its public key is not 32 bytes of base64url") from None


__all__ = ["PublishedKey", "Rotation", "SigningKeyError", "SigningKeyRing", "UnsealError"]
