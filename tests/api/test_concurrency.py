"""Races: concurrent rotation of one key, concurrent cold validations of one key."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from hokusai_auth.keys import tokens
from tests.conftest import Service, ServiceFactory


async def test_concurrent_rotation_exactly_one_wins(make_service: ServiceFactory, database_url: str) -> None:
    # Two instances on one database, as two processes behind a load balancer would be.
    first = await make_service(database_url)
    second = await make_service(database_url)
    created = await first.create_key()
    key_id = created["key_id"]

    async def rotate(svc: Service) -> int:
        response = await svc.client.post(f"/api/v1/keys/{key_id}/rotate", headers=svc.admin)
        return response.status_code

    statuses = await asyncio.gather(*(rotate(svc) for svc in [first, second] * 4))
    assert sorted(statuses) == [201] + [409] * 7

    keys = (await first.client.get("/api/v1/keys", headers=first.admin)).json()
    assert len(keys) == 2, "exactly one successor exists"
    successor = next(k for k in keys if k["key_id"] != key_id)
    assert successor["rotated_from"] == key_id
    rotations = (await first.client.get("/api/v1/audit-logs?action=api_key.rotate", headers=first.admin)).json()
    assert len(rotations) == 1


async def test_concurrent_cold_validations_share_one_bcrypt(service: Service) -> None:
    created = await service.create_key()
    hasher = service.runtime.hasher
    before = hasher.verifications
    responses = await asyncio.gather(*(service.validate(created["api_key"]) for _ in range(25)))
    assert all(response.status_code == 200 for response in responses)
    assert hasher.verifications - before == 1
    # warm: no more bcrypt
    await service.validate(created["api_key"])
    assert hasher.verifications - before == 1


async def test_a_key_changed_while_it_was_being_verified_costs_no_second_bcrypt(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The key's first validation is cold; while it reads the key, a change of that key is heard (on a busy
    cluster: its creation, or a PATCH, arriving from the change feed). That load must not cache what it read, but
    it did verify the key: the next validation reads the state again and needs no second bcrypt."""
    created = await service.create_key()
    runtime = service.runtime
    cache = runtime.validator.cache
    store = runtime.key_store
    original = store.find

    async def find_while_the_key_changes(lookup_digest: str) -> Any:
        found = await original(lookup_digest)
        cache.invalidate_digest(lookup_digest)  # heard during the load: the epoch moves
        return found

    monkeypatch.setattr(store, "find", find_while_the_key_changes)
    before = runtime.hasher.verifications
    assert (await service.validate(created["api_key"])).status_code == 200
    monkeypatch.setattr(store, "find", original)
    assert (await service.validate(created["api_key"])).status_code == 200
    assert runtime.hasher.verifications - before == 1


async def test_unknown_and_malformed_keys_never_cost_a_bcrypt(service: Service) -> None:
    hasher = service.runtime.hasher
    before = hasher.verifications
    unknown = tokens.generate("production")
    for candidate in [unknown, unknown, "hk_live_" + "B" * 38, "nonsense"]:
        assert (await service.validate(candidate)).status_code == 401
    assert hasher.verifications == before


async def test_refresh_after_the_cache_ttl_costs_no_second_bcrypt(
    make_service: ServiceFactory, database_url: str
) -> None:
    svc = await make_service(database_url, cache_ttl=0)  # every validation goes back to the database
    created = await svc.create_key()
    hasher = svc.runtime.hasher
    before = hasher.verifications
    for _ in range(5):
        assert (await svc.validate(created["api_key"])).status_code == 200
    assert hasher.verifications - before == 1, "the key was verified once; refreshes only re-read its state"
