"""Every time that enters the service is bounded (2000-01-01 ≤ t < 2200-01-01 UTC, with a time zone) when it is
parsed, so no input can reach a 500 through datetime overflow; and arithmetic on stored times is clamped, so rows
written before the bounds existed (a key expiring in 9999) cannot either.

First the reproductions from the hardening issue, then a table over the extremes for every time-taking input.
Each test runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from hokusai_auth.clock import FrozenClock
from hokusai_auth.db.engine import create_engine
from hokusai_auth.keys.models import APIKey
from hokusai_auth.times import LATEST
from tests.conftest import Service

OUT_OF_RANGE = "must be from 2000-01-01T00:00:00Z to before 2200-01-01T00:00:00Z"
NOT_A_CURSOR = "cursor: not a cursor returned by this endpoint"


def cursor(text: str) -> str:
    """A cursor in the format both listings use: base64url("<time>|<uuid>")."""
    return base64.urlsafe_b64encode(f"{text}|{uuid.uuid4()}".encode()).decode().rstrip("=")


def assert_refused(response: httpx.Response, field: str, message: str | None = None) -> None:
    """A 422 in the contract's shape, naming the field."""
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["code"] == "validation_error"
    assert body["detail"].startswith(f"{field}: "), body
    if message is not None:
        assert body["detail"] == f"{field}: {message}", body
    assert body["errors"][0]["field"] == field


async def store_expiry(database_url: str, key_id: str, expires_at: datetime, **more: datetime) -> None:
    """Write a far-off time straight into the row, as a service without the bounds could have."""
    engine = create_engine(database_url)
    try:
        async with engine.begin() as connection:
            values: dict[str, Any] = {"expires_at": expires_at, **more}
            await connection.execute(update(APIKey).where(APIKey.id == uuid.UUID(key_id)).values(**values))
    finally:
        await engine.dispose()


# ------------------------------------------------------------------------------------------ reproductions


async def test_a_naive_audit_cursor_is_422(service: Service) -> None:
    response = await service.client.get(
        "/api/v1/audit-logs", params={"cursor": cursor("2026-01-01T00:00:00")}, headers=service.admin
    )
    assert_refused(response, "cursor", NOT_A_CURSOR.removeprefix("cursor: "))


@pytest.mark.parametrize("path", ["/api/v1/keys", "/api/v1/audit-logs"])
@pytest.mark.parametrize(
    "moment", ["0001-01-01T00:00:00+00:00", "0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00"]
)
async def test_cursors_holding_far_off_times_are_422(service: Service, path: str, moment: str) -> None:
    await service.create_key()
    response = await service.client.get(path, params={"cursor": cursor(moment)}, headers=service.admin)
    assert_refused(response, "cursor")


@pytest.mark.parametrize(
    ("name", "value"), [("since", "0001-01-01T00:00:00+05:00"), ("until", "9999-12-31T23:59:59-05:00")]
)
async def test_audit_time_filters_out_of_range_are_422(service: Service, name: str, value: str) -> None:
    response = await service.client.get("/api/v1/audit-logs", params={name: value}, headers=service.admin)
    assert_refused(response, name, OUT_OF_RANGE)


@pytest.mark.parametrize("value", ["9999-12-31T23:59:59-05:00", "9999-12-31T23:59:59Z"])
async def test_patching_a_far_off_expiry_is_422_and_rotation_still_works(service: Service, value: str) -> None:
    created = await service.create_key(expires_in_days=30)
    key_id = created["key_id"]
    response = await service.client.patch(
        f"/api/v1/keys/{key_id}", json={"expires_at": value, "allow_expiry_extension": True}, headers=service.admin
    )
    assert_refused(response, "expires_at", OUT_OF_RANGE)
    assert isinstance(service.clock, FrozenClock)
    service.clock.advance(60)
    rotated = await service.client.post(f"/api/v1/keys/{key_id}/rotate", headers=service.admin)
    assert rotated.status_code == 201, rotated.text


async def test_a_key_stored_with_a_year_9999_expiry_rotates_again_and_again(
    service: Service, database_url: str
) -> None:
    """Rows from before the bounds: the new key's lifetime is clamped instead of overflowing."""
    clock = service.clock
    assert isinstance(clock, FrozenClock)
    key_id = (await service.create_key())["key_id"]
    await store_expiry(database_url, key_id, datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC))
    for _ in range(3):
        clock.advance(3600)
        response = await service.client.post(
            f"/api/v1/keys/{key_id}/rotate", json={"grace_period_seconds": 604_800}, headers=service.admin
        )
        assert response.status_code == 201, response.text
        info = response.json()["key_info"]
        assert datetime.fromisoformat(info["expires_at"]) == LATEST
        key_id = response.json()["key_id"]
    listed = await service.client.get("/api/v1/keys", headers=service.admin)
    assert listed.status_code == 200
    patched = await service.client.patch(f"/api/v1/keys/{key_id}", json={"name": "renamed"}, headers=service.admin)
    assert patched.status_code == 200, patched.text


async def test_a_key_stored_with_year_1_creation_and_year_9999_expiry_rotates(
    service: Service, database_url: str
) -> None:
    key_id = (await service.create_key())["key_id"]
    await store_expiry(
        database_url,
        key_id,
        datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC),
        created_at=datetime(1, 1, 1, tzinfo=UTC),
    )
    response = await service.client.post(f"/api/v1/keys/{key_id}/rotate", headers=service.admin)
    assert response.status_code == 201, response.text
    assert datetime.fromisoformat(response.json()["key_info"]["expires_at"]) == LATEST


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/api/v1/usage/{key_id}/stats", {"period": "9999-12"}, "period"),
        ("/api/v1/usage/aggregate", {"end_date": "0001-01-01"}, "end_date"),
        ("/api/v1/usage/aggregate", {"end_date": "9999-12-31"}, "end_date"),
    ],
)
async def test_usage_periods_and_dates_out_of_range_are_422(
    service: Service, path: str, params: dict[str, str], field: str
) -> None:
    key_id = (await service.create_key())["key_id"]
    response = await service.client.get(path.format(key_id=key_id), params=params, headers=service.admin)
    assert_refused(response, field)


# ------------------------------------------------------------------------------------------ the class

# (RFC 3339 text, True if within the bounds / False if outside / None if naive). Offsets up to +14:00 and -12:00
# around both bounds: the instant decides, not the written date.
TIMES: list[tuple[str, bool | None]] = [
    ("0001-01-01T00:00:00Z", False),
    ("0001-01-01T00:00:00+05:00", False),
    ("0001-01-01T00:00:00-12:00", False),
    ("1999-12-31T23:59:59Z", False),
    ("1999-12-31T23:59:59.999999Z", False),
    ("2000-01-01T00:00:00+00:01", False),
    ("2000-01-01T13:59:59+14:00", False),
    ("2000-01-01T14:00:00+14:00", True),
    ("1999-12-31T12:00:00-12:00", True),
    ("2000-01-01T00:00:00Z", True),
    ("2026-06-01T12:00:00+02:00", True),
    ("2199-12-31T23:59:59Z", True),
    ("2199-12-31T23:59:59.999999Z", True),
    ("2200-01-01T13:59:59+14:00", True),
    ("2199-12-31T11:59:59-12:00", True),
    ("2199-12-31T12:00:00-12:00", False),
    ("2200-01-01T00:00:00Z", False),
    ("2200-01-01T00:00:00+14:00", True),
    ("9999-12-31T23:59:59Z", False),
    ("9999-12-31T23:59:59-05:00", False),
    ("9999-12-31T23:59:59+14:00", False),
    ("2026-01-01T00:00:00", None),
    ("0001-01-01T00:00:00", None),
    ("9999-12-31T23:59:59", None),
]
TIME_IDS = [text for text, _ in TIMES]


@pytest.mark.parametrize(("text", "within"), TIMES, ids=TIME_IDS)
async def test_every_time_parameter_takes_the_bounds(service: Service, text: str, within: bool | None) -> None:
    await service.create_key()
    for name in ("since", "until"):
        response = await service.client.get("/api/v1/audit-logs", params={name: text}, headers=service.admin)
        if within:
            assert response.status_code == 200, response.text
        else:
            assert_refused(response, name, OUT_OF_RANGE if within is False else None)
            if within is None:
                assert "needs a time zone" in response.json()["detail"]
    for path in ("/api/v1/keys", "/api/v1/audit-logs"):
        response = await service.client.get(path, params={"cursor": cursor(text)}, headers=service.admin)
        if within:
            assert response.status_code == 200, response.text
        else:
            assert_refused(response, "cursor", NOT_A_CURSOR.removeprefix("cursor: "))


@pytest.mark.parametrize(("text", "within"), TIMES, ids=TIME_IDS)
async def test_the_expiry_takes_the_bounds(service: Service, text: str, within: bool | None) -> None:
    key_id = (await service.create_key())["key_id"]
    body = {"expires_at": text, "allow_expiry_extension": True}
    response = await service.client.patch(f"/api/v1/keys/{key_id}", json=body, headers=service.admin)
    if within is None:
        assert_refused(response, "expires_at")
        assert "needs a time zone" in response.json()["detail"]
    elif not within:
        assert_refused(response, "expires_at", OUT_OF_RANGE)
    else:
        moment = datetime.fromisoformat(text)
        assert service.clock is not None
        if moment > service.clock.now():
            assert response.status_code == 200, response.text
            assert datetime.fromisoformat(response.json()["expires_at"]) == moment
            rotated = await service.client.post(f"/api/v1/keys/{key_id}/rotate", headers=service.admin)
            assert rotated.status_code == 201, rotated.text
        else:
            assert_refused(response, "expires_at", "must be in the future (use DELETE to revoke a key now)")


DATES: list[tuple[str, bool]] = [
    ("0001-01-01", False),
    ("1999-12-31", False),
    ("2000-01-01", True),
    ("2199-12-31", True),
    ("2200-01-01", False),
    ("9999-12-31", False),
]
PERIODS: list[tuple[str, bool]] = [
    ("0001-01", False),
    ("1999-12", False),
    ("2000-01", True),
    ("2199-12", True),
    ("2200-01", False),
    ("9999-12", False),
]


@pytest.mark.parametrize(("day", "within"), DATES)
async def test_usage_dates_take_the_bounds(service: Service, day: str, within: bool) -> None:
    for params, field in (
        ({"end_date": day}, "end_date"),
        ({"start_date": day, "end_date": day if within else "2000-01-01"}, "start_date"),
    ):
        response = await service.client.get("/api/v1/usage/aggregate", params=params, headers=service.admin)
        if within:
            assert response.status_code == 200, response.text
        else:
            assert_refused(response, field, "must be from 2000-01-01 to 2199-12-31")


async def test_the_default_start_date_stops_at_the_lower_bound(service: Service) -> None:
    response = await service.client.get(
        "/api/v1/usage/aggregate", params={"end_date": "2000-01-10"}, headers=service.admin
    )
    assert response.status_code == 200, response.text
    assert (response.json()["start_date"], response.json()["end_date"]) == ("2000-01-01", "2000-01-10")


@pytest.mark.parametrize(("period", "within"), PERIODS)
async def test_usage_periods_take_the_bounds(service: Service, period: str, within: bool) -> None:
    key_id = (await service.create_key())["key_id"]
    response = await service.client.get(
        f"/api/v1/usage/{key_id}/stats", params={"period": period}, headers=service.admin
    )
    if within:
        assert response.status_code == 200, response.text
        assert response.json()["period"] == period
    else:
        assert_refused(response, "period", "must be from 2000-01 to 2199-12")
