"""The admin token (constant-time, several at once for rotation) and the audit log it feeds."""

from __future__ import annotations

from datetime import timedelta

from tests.conftest import ADMIN_TOKEN, Service, ServiceFactory


async def test_missing_or_wrong_admin_token_is_401(service: Service) -> None:
    for headers in (
        {},
        {"Authorization": "Bearer wrong"},
        {"Authorization": ADMIN_TOKEN},
        {"Authorization": "Basic x"},
    ):
        for method, path, expected in (
            ("GET", "/api/v1/keys", "Invalid or missing admin token or access token"),
            ("POST", "/api/v1/keys", "Invalid or missing admin token or access token"),
            ("GET", "/api/v1/audit-logs", "Invalid or missing admin token"),
        ):
            response = await service.client.request(method, path, headers=headers, json={})
            assert response.status_code == 401, (headers, path)
            assert response.json() == {"detail": expected, "code": "unauthorized"}
            assert response.headers["www-authenticate"] == "Bearer"


async def test_rejected_admin_credentials_are_audited_without_the_credential(service: Service) -> None:
    await service.client.get(
        "/api/v1/keys",
        headers={"Authorization": "Bearer guessed-token-123", "User-Agent": "scanner/1.0", "X-Request-ID": "req-77"},
    )
    assert await service.runtime.failed_credentials.flush() == 1  # written once per window, see security.md
    events = (await service.client.get("/api/v1/audit-logs?action=admin.auth_failed", headers=service.admin)).json()
    assert len(events) == 1
    event = events[0]
    assert event["details"]["count"] == 1
    assert event["outcome"] == "failure"
    assert event["client_ip"] == "203.0.113.9"
    assert event["user_agent"] == "scanner/1.0"
    assert event["request_id"] == "req-77"
    assert "guessed-token-123" not in str(event)


async def test_several_admin_tokens_work_at_once_for_rotation(make_service: ServiceFactory, database_url: str) -> None:
    second = "second-admin-token-" + "z" * 30
    svc = await make_service(database_url, admin_tokens=f"{ADMIN_TOKEN},{second}")
    for token in (ADMIN_TOKEN, second):
        response = await svc.client.post(
            "/api/v1/keys", json={"name": "k", "service_id": "platform"}, headers={"Authorization": f"Bearer {token}"}
        )
        assert response.status_code == 201
    events = (await svc.client.get("/api/v1/audit-logs?action=api_key.create", headers=svc.admin)).json()
    actors = {event["actor"] for event in events}
    assert len(actors) == 2, "the audit log tells which admin token acted"
    assert all(actor.startswith("admin:") for actor in actors)
    assert not any(ADMIN_TOKEN[:8] in actor or second[:8] in actor for actor in actors)


async def test_every_key_change_is_audited_with_request_details(service: Service) -> None:
    assert service.clock is not None
    created = await service.create_key()
    key_id = created["key_id"]
    headers = {**service.admin, "User-Agent": "hokusai-cli/0.1", "X-Request-ID": "abc-123"}
    service.clock.advance(1)
    await service.client.patch(f"/api/v1/keys/{key_id}", json={"name": "renamed"}, headers=headers)
    service.clock.advance(1)
    rotated = (await service.client.post(f"/api/v1/keys/{key_id}/rotate", headers=headers)).json()
    service.clock.advance(1)
    await service.client.delete(f"/api/v1/keys/{rotated['key_id']}", headers=headers)

    events = (await service.client.get("/api/v1/audit-logs", headers=service.admin)).json()
    assert [e["action"] for e in events] == ["api_key.revoke", "api_key.rotate", "api_key.update", "api_key.create"]
    for event in events:
        assert event["actor"].startswith("admin:")
        assert event["outcome"] == "success"
        assert event["target_type"] == "api_key"
        assert event["client_ip"] == "203.0.113.9"
        assert event["occurred_at"]
    assert events[0]["request_id"] == "abc-123"
    assert events[0]["user_agent"] == "hokusai-cli/0.1"
    assert events[1]["details"]["new_key_id"] == rotated["key_id"]
    assert events[2]["details"] == {"changed": {"name": "renamed"}}
    assert events[3]["details"]["service_id"] == "platform"
    text = str(events)
    assert created["api_key"] not in text
    assert rotated["api_key"] not in text


async def test_audit_log_filters_and_pages(service: Service) -> None:
    assert service.clock is not None
    start = service.clock.now()
    first = await service.create_key()
    service.clock.advance(60)
    second = await service.create_key()
    service.clock.advance(60)
    await service.client.delete(f"/api/v1/keys/{first['key_id']}", headers=service.admin)

    async def ids(query: str) -> list[str]:
        response = await service.client.get(f"/api/v1/audit-logs?{query}", headers=service.admin)
        assert response.status_code == 200, response.text
        return [event["target_id"] + ":" + event["action"] for event in response.json()]

    assert await ids(f"key_id={first['key_id']}") == [
        f"{first['key_id']}:api_key.revoke",
        f"{first['key_id']}:api_key.create",
    ]
    assert len(await ids("action=api_key.create")) == 2
    since = (start + timedelta(seconds=30)).isoformat().replace("+00:00", "Z")
    until = (start + timedelta(seconds=90)).isoformat().replace("+00:00", "Z")
    assert await ids(f"since={since}&until={until}") == [f"{second['key_id']}:api_key.create"]
    events = (await service.client.get("/api/v1/audit-logs", headers=service.admin)).json()
    actor = events[0]["actor"]
    assert len(await ids(f"actor={actor}")) == 3
    assert await ids("actor=nobody") == []

    page = await service.client.get("/api/v1/audit-logs?limit=2", headers=service.admin)
    assert len(page.json()) == 2
    rest = await service.client.get(
        f"/api/v1/audit-logs?limit=2&cursor={page.headers['x-next-cursor']}", headers=service.admin
    )
    assert len(rest.json()) == 1
    assert "x-next-cursor" not in rest.headers

    bad = await service.client.get("/api/v1/audit-logs?since=2026-01-01T00:00:00", headers=service.admin)
    assert bad.status_code == 422
    assert bad.json()["detail"].startswith("since:")
