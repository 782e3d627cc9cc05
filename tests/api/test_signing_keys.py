"""The signing keys (hokusai_auth/signing/), on SQLite and PostgreSQL: sealed at rest, shared by instances,
rotated without breaking a token that is still valid, published as JWKS."""

from __future__ import annotations

import asyncio
import base64
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from fastapi import FastAPI
from sqlalchemy import delete, select, text, update

from hokusai import _jws
from hokusai_auth.audit.models import AuditEvent
from hokusai_auth.clock import FrozenClock
from hokusai_auth.components import Components
from hokusai_auth.db.engine import Database, open_database
from hokusai_auth.signing.access_tokens import AccessTokens
from hokusai_auth.signing.keyring import PURGE_AFTER, SigningKeyRing
from hokusai_auth.signing.models import SigningKey
from hokusai_auth.signing.routes import router
from hokusai_auth.signing.sealing import Sealer, UnsealError
from tests.conftest import SECRET_KEY, run_blocking

ISSUER = "https://auth.example.com"
TTL = 900
HANDOVER = 60.0

Instances = Callable[..., SigningKeyRing]


@pytest.fixture
async def databases(database_url: str) -> AsyncIterator[Callable[[], Database]]:
    """Databases on one URL, one per simulated instance, with no signing key yet."""
    opened: list[Database] = []

    def another() -> Database:
        database = open_database(database_url)
        opened.append(database)
        return database

    async with another().writer.begin() as session:
        await session.execute(delete(SigningKey))
    yield another
    for database in opened:
        await database.dispose()


@pytest.fixture
def instance(databases: Callable[[], Database], clock: FrozenClock) -> Instances:
    """A key ring as one instance of the service builds it (its own engine, the shared clock)."""

    def build(secret_key: str = SECRET_KEY, **options: Any) -> SigningKeyRing:
        options.setdefault("handover_s", HANDOVER)
        return SigningKeyRing(databases(), secret_key, clock, TTL, **options)

    return build


def tokens_of(keyring: SigningKeyRing) -> AccessTokens:
    return AccessTokens(keyring, ISSUER, ttl=TTL)


async def raw_rows(database: Database) -> list[dict[str, Any]]:
    async with database.reader() as session:
        result = await session.execute(text("SELECT * FROM signing_keys"))
        return [dict(row) for row in result.mappings()]


# ------------------------------------------------------------------------------------------------ at rest


async def test_the_first_start_makes_one_key_sealed_never_in_clear(instance: Instances, clock: FrozenClock) -> None:
    keyring = instance()
    await keyring.load()
    kid, private_key = keyring.current
    rows = await raw_rows(keyring._db)
    assert len(rows) == 1
    row = rows[0]
    assert row["kid"] == kid == _jws.thumbprint(private_key.public_key())
    assert row["algorithm"] == "EdDSA"
    assert row["retired_at"] is None
    assert row["public_key"] == _jws.b64encode(_jws.public_bytes(private_key.public_key()))
    raw = private_key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    pem = private_key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    everything = repr(rows)
    for spelling in (raw.hex(), base64.b64encode(raw).decode().rstrip("="), _jws.b64encode(raw), pem.decode()[30:60]):
        assert spelling not in everything
    assert row["private_key_sealed"].startswith("v1.")
    assert Sealer(SECRET_KEY).unseal(row["private_key_sealed"], kid=kid) == raw

    again = instance()
    await again.load()  # a restart reads the key, makes none
    assert again.current[0] == kid
    assert len(await raw_rows(keyring._db)) == 1


async def test_a_wrong_secret_key_fails_clearly_and_says_nothing_secret(instance: Instances) -> None:
    await instance().load()
    wrong_secret = "another-secret-key-" + "z" * 40
    with pytest.raises(UnsealError) as caught:
        await instance(wrong_secret).load()
    message = str(caught.value)
    assert "SECRET_KEY" in message
    assert wrong_secret not in message
    assert SECRET_KEY not in message


async def test_a_sealed_key_does_not_open_in_another_row(instance: Instances, clock: FrozenClock) -> None:
    keyring = instance()
    await keyring.load()
    first = keyring.current[0]
    clock.advance(1)
    await keyring.rotate()
    second = keyring.current[0]
    sealed = {row["kid"]: row["private_key_sealed"] for row in await raw_rows(keyring._db)}
    async with keyring._db.writer.begin() as session:  # the old key's sealed text moved into the current row
        await session.execute(
            update(SigningKey).where(SigningKey.kid == second).values(private_key_sealed=sealed[first])
        )
    with pytest.raises(UnsealError):
        await instance().load()


def test_sealing_uses_a_fresh_nonce_and_binds_the_kid() -> None:
    sealer = Sealer(SECRET_KEY)
    one, two = sealer.seal(b"k" * 32, kid="a"), sealer.seal(b"k" * 32, kid="a")
    assert one != two
    assert sealer.unseal(one, kid="a") == sealer.unseal(two, kid="a") == b"k" * 32
    for damaged in (one[:-2], "v2." + one[3:], one[:10] + ("A" if one[10] != "A" else "B") + one[11:], "v1."):
        with pytest.raises(UnsealError):
            sealer.unseal(damaged, kid="a")
    with pytest.raises(UnsealError):
        sealer.unseal(one, kid="b")


# ------------------------------------------------------------------------------------------------ instances


async def test_two_instances_starting_together_agree_on_one_key(instance: Instances) -> None:
    for _ in range(5):
        rings = [instance() for _ in range(4)]
        await asyncio.gather(*(raw_rows(ring._db) for ring in rings))  # connected: the loads start together
        await asyncio.gather(*(ring.load() for ring in rings))
        rows = await raw_rows(rings[0]._db)
        assert len(rows) == 1
        assert {ring.current[0] for ring in rings} == {rows[0]["kid"]}
        async with rings[0]._db.writer.begin() as session:
            await session.execute(delete(SigningKey))


async def test_instances_verify_each_others_tokens(instance: Instances, clock: FrozenClock) -> None:
    a, b = instance(), instance()
    await a.load()
    await b.load()
    for issuer, verifier in ((a, b), (b, a)):
        issued = tokens_of(issuer).issue(
            user_id=uuid.uuid4(), session_id=uuid.uuid4(), wallet_address=None, now=clock.now()
        )
        claims = await tokens_of(verifier).verify(issued.token, clock.now())
        assert claims["jti"] == issued.jti
        assert claims["wallet_address"] is None


async def test_a_rotation_elsewhere_is_picked_up_on_the_first_token_it_signed(
    instance: Instances, clock: FrozenClock
) -> None:
    a, b = instance(), instance()
    await a.load()
    await b.load()
    old_kid = a.current[0]
    old_token = tokens_of(b).issue(user_id="u", session_id="s", wallet_address=None, now=clock.now()).token
    rotation = await a.rotate()
    assert rotation.retired == (old_kid,)
    assert a.current[0] == rotation.kid != old_kid
    new_token = tokens_of(a).issue(user_id="u", session_id="s", wallet_address="0xabc", now=clock.now()).token
    assert rotation.kid not in b.verification_keys()
    claims = await tokens_of(b).verify(new_token, clock.now())  # an unknown kid: b reloads, once
    assert claims["wallet_address"] == "0xabc"
    assert b.current[0] == rotation.kid  # and signs with the new key from then on
    await tokens_of(a).verify(old_token, clock.now())
    await tokens_of(b).verify(old_token, clock.now())


async def test_the_periodic_reload_moves_an_instance_to_the_new_key(instance: Instances) -> None:
    a, b = instance(), instance(reload_interval_s=0.05)
    await a.load()
    await b.load()
    b.start()
    try:
        rotation = await a.rotate()
        for _ in range(200):
            if b.current[0] == rotation.kid:
                break
            await asyncio.sleep(0.02)
        assert b.current[0] == rotation.kid
    finally:
        await b.stop()


async def test_made_up_kids_reload_at_most_once_a_second(instance: Instances) -> None:
    moment = [0.0]
    keyring = instance(monotonic=lambda: moment[0])
    await keyring.load()
    reloads = keyring.reloads
    results = await asyncio.gather(*(keyring.reload_if_unknown(f"made-up-{n}") for n in range(20)))
    assert not any(results)
    assert keyring.reloads == reloads + 1
    moment[0] = 0.9
    for n in range(20):
        assert not await keyring.reload_if_unknown(f"again-{n}")
    assert keyring.reloads == reloads + 1
    moment[0] = 1.0
    assert not await keyring.reload_if_unknown("a second later")
    assert keyring.reloads == reloads + 2
    assert await keyring.reload_if_unknown(keyring.current[0])  # a known kid never reloads
    assert keyring.reloads == reloads + 2


# ------------------------------------------------------------------------------------------------ rotation


async def test_a_retired_key_stays_published_until_its_tokens_have_expired(
    instance: Instances, clock: FrozenClock
) -> None:
    keyring = instance()
    await keyring.load()
    old_kid = keyring.current[0]
    old = tokens_of(keyring).issue(user_id="u", session_id="s", wallet_address=None, now=clock.now())
    retired_at = clock.now()
    rotation = await keyring.rotate()
    assert rotation.retired_published_until == retired_at + timedelta(seconds=TTL + HANDOVER)
    assert [key["kid"] for key in keyring.jwks()["keys"]] == [rotation.kid, old_kid]
    async with keyring._db.reader() as session:
        events = (await session.execute(select(AuditEvent).where(AuditEvent.action == "signing_key.rotate"))).scalars()
        assert [(event.target_id, event.details, event.actor_type) for event in events] == [
            (rotation.kid, {"retired": [old_kid]}, "system")
        ]

    clock.advance(TTL - 1)
    await tokens_of(keyring).verify(old.token, clock.now())  # still valid: its key is still published
    clock.advance(1)
    with pytest.raises(_jws.ExpiredToken):
        await tokens_of(keyring).verify(old.token, clock.now())
    clock.advance(HANDOVER - 1)
    assert old_kid in keyring.verification_keys()  # instances that had not reloaded may still have signed
    clock.advance(1)
    assert old_kid not in keyring.verification_keys()
    assert [key["kid"] for key in keyring.jwks()["keys"]] == [rotation.kid]
    with pytest.raises(_jws.UnknownKey):
        await tokens_of(keyring).verify(old.token, clock.now())
    # A fresh instance agrees: the row is still there, but not published.
    fresh = instance()
    await fresh.load()
    assert fresh.jwks() == keyring.jwks()
    assert len(await raw_rows(keyring._db)) == 2


async def test_keys_unpublished_long_ago_are_deleted_at_the_next_rotation(
    instance: Instances, clock: FrozenClock
) -> None:
    keyring = instance()
    await keyring.load()
    first = keyring.current[0]
    await keyring.rotate()
    clock.advance(TTL + HANDOVER + PURGE_AFTER.total_seconds() + 1)
    await keyring.rotate()
    kids = {row["kid"] for row in await raw_rows(keyring._db)}
    assert first not in kids
    assert len(kids) == 2


async def test_tokens_carry_the_contracts_claims(instance: Instances, clock: FrozenClock) -> None:
    keyring = instance()
    await keyring.load()
    user_id, session_id = uuid.uuid4(), uuid.uuid4()
    issued = tokens_of(keyring).issue(user_id=user_id, session_id=session_id, wallet_address="0xW", now=clock.now())
    claims = await tokens_of(keyring).verify(issued.token, clock.now())
    now = int(clock.now().timestamp())
    assert claims == {
        "iss": ISSUER, "sub": str(user_id), "aud": "hokusai", "iat": now, "nbf": now, "exp": now + TTL,
        "jti": issued.jti, "sid": str(session_id), "wallet_address": "0xW",
    }  # fmt: skip
    assert issued.expires_at.timestamp() == now + TTL
    assert len(issued.jti) >= 22
    header = _jws.b64decode(issued.token.split(".")[0])
    assert header == f'{{"alg":"EdDSA","kid":"{keyring.current[0]}","typ":"JWT"}}'.encode()
    with pytest.raises(_jws.InvalidToken):
        await AccessTokens(keyring, "https://other.example", ttl=TTL).verify(issued.token, clock.now())


# ------------------------------------------------------------------------------------------------ JWKS over HTTP


async def test_the_jwks_endpoint_publishes_every_published_key(instance: Instances) -> None:
    keyring = instance()
    await keyring.load()
    await keyring.rotate()
    app = FastAPI()
    app.include_router(router)
    app.state.components = Components(keyring)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
        response = await client.get("/.well-known/jwks.json")
    assert response.status_code == 200
    assert response.headers["cache-control"] == "public, max-age=300"
    assert response.headers["content-type"].startswith("application/json")
    keys = response.json()["keys"]
    assert len(keys) == 2
    for jwk in keys:
        assert set(jwk) == {"kty", "crv", "x", "kid", "alg", "use"}
        assert "d" not in jwk
        parsed = _jws.from_jwk(jwk)
        assert parsed is not None
        assert _jws.thumbprint(parsed[1]) == jwk["kid"]
    assert keys[0]["kid"] == keyring.current[0]


# ------------------------------------------------------------------------------------------------ the command


def test_the_rotate_signing_key_command(tmp_path: Path, sqlite_template: Path) -> None:
    path = tmp_path / "hokusai.db"
    shutil.copy(sqlite_template, path)
    command = str(Path(sys.executable).parent / "hokusai-auth")
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), "DATABASE_URL": f"sqlite:///{path}",
           "SECRET_KEY": SECRET_KEY, "ADMIN_TOKEN": "a" * 40, "ACCESS_TOKEN_TTL": "600"}  # fmt: skip

    def run(**changes: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([command, "rotate-signing-key"], env={**env, **changes}, capture_output=True,
                              text=True, timeout=60, check=False)  # fmt: skip

    first = run()
    assert first.returncode == 0, first.stderr
    second = run()
    assert second.returncode == 0, second.stderr
    lines = second.stdout.splitlines()
    new_kid = lines[0].split()[3]
    assert lines[0].startswith(f"new signing key {new_kid} ")
    old_kid = first.stdout.split()[3]
    assert lines[1].startswith(f"retired {old_kid}: published until ")
    assert "ACCESS_TOKEN_TTL 600 s" in lines[1]

    async def current() -> str:
        database = open_database(f"sqlite:///{path}")
        try:
            keyring = SigningKeyRing(database, SECRET_KEY, FrozenClock(), 600)
            await keyring.load()
            return keyring.current[0]
        finally:
            await database.dispose()

    assert run_blocking(current()) == new_kid

    wrong = run(SECRET_KEY="w" * 48)
    assert wrong.returncode == 1
    assert wrong.stdout == ""
    assert wrong.stderr.count("\n") == 1
    assert wrong.stderr.startswith("hokusai-auth: ")
    assert "SECRET_KEY" in wrong.stderr
    assert "w" * 48 not in wrong.stderr
    assert run_blocking(current()) == new_kid  # nothing was added with the wrong secret
