"""What the service refuses at its edge, on SQLite and PostgreSQL: text the database cannot store, values longer
than their columns, bodies too large or sent without credentials, credentials given twice, echoed secrets.

Each defect found when the service was attacked has its own regression test here, next to a test of its class
that walks every route or field, so the next route or field cannot bring it back.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
import pytest
from pydantic import BaseModel

from hokusai_auth.keys import tokens
from hokusai_auth.limits import REQUEST_ID_MAX
from hokusai_auth.request_model import RequestModel
from tests.api.usage_helpers import AS_SERVICE, SERVICE_TOKEN
from tests.conftest import Service, ServiceFactory

NUL_QUERIES = ("user_id", "service_id", "actor", "key_id", "action", "cursor", "period", "start_date", "end_date")


@pytest.fixture
async def svc(make_service: ServiceFactory, database_url: str) -> Service:
    return await make_service(database_url, service_tokens=SERVICE_TOKEN, usage_flush_interval=60)


def _routes(svc: Service) -> list[tuple[str, str]]:
    """(method, path) of every operation in the OpenAPI document, with path parameters filled in."""
    spec = svc.app.openapi()
    found = []
    for template, operations in spec["paths"].items():
        path = template.replace("{key_id}", str(uuid.uuid4()))
        found += [(method.upper(), path) for method in operations]
    return found


# ------------------------------------------------------------------------------------------- NUL and bad Unicode


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/api/v1/keys", {"name": "a\x00b", "service_id": "platform"}, "name"),
        ("/api/v1/keys", {"name": "n", "service_id": "platform", "user_id": "u\x00"}, "user_id"),
        ("/api/v1/keys", {"name": "n", "service_id": "plat\x00form"}, "service_id"),
        ("/api/v1/keys", {"name": "n", "service_id": "platform", "scopes": ["read", "x\x00"]}, "scopes"),
        ("/api/v1/keys", {"name": "n", "service_id": "platform", "allowed_ips": ["10.0.0.1\x00"]}, "allowed_ips"),
    ],
)
async def test_nul_in_a_key_field_is_a_422_naming_the_field(
    svc: Service, path: str, body: dict[str, Any], field: str
) -> None:
    response = await svc.client.post(path, json=body, headers=svc.admin)
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == field
    assert "NUL" in response.json()["detail"]


async def test_nul_in_patch_and_usage_fields_is_refused_and_usage_keeps_flowing(svc: Service) -> None:
    key_id = (await svc.create_key())["key_id"]
    patched = await svc.client.patch(f"/api/v1/keys/{key_id}", json={"name": "x\x00"}, headers=svc.admin)
    assert patched.status_code == 422
    record = {"service_id": "prediction", "endpoint": "/p\x00x", "status_code": 200, "response_time_ms": 1}
    poisoned = await svc.client.post(f"/api/v1/usage/{key_id}", json=record, headers=AS_SERVICE)
    assert poisoned.status_code == 422
    keyed = {**record, "endpoint": "/p", "idempotency_key": "i\x00"}
    assert (await svc.client.post(f"/api/v1/usage/{key_id}", json=keyed, headers=AS_SERVICE)).status_code == 422
    good = {**record, "endpoint": "/predict"}
    assert (await svc.client.post(f"/api/v1/usage/{key_id}", json=good, headers=AS_SERVICE)).status_code == 200
    assert await svc.runtime.usage.flush() == 1, "nothing unstorable reached the buffer"


@pytest.mark.parametrize("text", ["\\ud800", "\\udfff", "a\\ud83dz"])
async def test_a_lone_surrogate_in_json_is_a_422(svc: Service, text: str) -> None:
    raw = ('{"name": "' + text + '", "service_id": "platform"}').encode()
    response = await svc.client.post(
        "/api/v1/keys", content=raw, headers={**svc.admin, "Content-Type": "application/json"}
    )
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == "name"


async def test_nul_in_any_query_parameter_of_any_route_is_a_400(svc: Service) -> None:
    """The class: every route, every parameter name that exists (or not), raw and percent-encoded NUL."""
    headers = {**svc.admin}
    for method, path in _routes(svc):
        for name in NUL_QUERIES:
            for encoded in ("%00", "a%00b"):
                response = await svc.client.request(method, f"{path}?{name}={encoded}", headers=headers)
                assert response.status_code == 400, (method, path, name, response.text)
                assert response.json()["code"] == "invalid_request"


async def test_nul_in_a_header_value_or_the_path_is_a_400(svc: Service) -> None:
    for extra in ({"User-Agent": "scan\x00ner"}, {"X-Request-ID": "a\x00"}, {"X-Custom": "\x00"}):
        raw = [(name.encode(), value.encode()) for name, value in {**svc.admin, **extra}.items()]
        response = await svc.client.get("/api/v1/keys", headers=raw)
        assert response.status_code == 400, extra
    response = await svc.client.get("/api/v1/keys/%00", headers=svc.admin)
    assert response.status_code == 400


async def test_a_refusal_at_the_edge_echoes_the_request_id_wherever_it_comes(svc: Service) -> None:
    """The fuzzer's case: a NUL header before X-Request-ID once stopped the head from being read further."""
    headers = [
        (b"x-forwarded-for", b"\x00"),
        (b"x-request-id", b"trace-123"),
        (b"x-api-key", b"a"),
        (b"x-api-key", b"b"),
    ]
    response = await svc.client.get("/api/v1/keys", headers=headers)
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_request", "the first rule broken is the one answered"
    assert response.headers["x-request-id"] == "trace-123"


async def test_every_request_body_model_checks_storable_text(svc: Service) -> None:
    """A body model that does not inherit RequestModel would let NUL through: none may exist."""
    await svc.client.get("/health")  # the middleware stack is built on the first request
    routes = [route for route in _all_api_routes(svc) if route.body_field is not None]
    assert routes, "the walk found no body models"
    for route in routes:
        model = route.body_field.field_info.annotation
        models = [m for m in getattr(model, "__args__", (model,)) if isinstance(m, type) and issubclass(m, BaseModel)]
        assert models, route.path
        for body_model in models:
            assert issubclass(body_model, RequestModel), f"{route.path}: {body_model.__name__}"


def _all_api_routes(svc: Service) -> list[Any]:
    """The routes as the credential gate knows them: every route the app serves."""
    return [route for route, _ in _gate(svc).table]


def _gate(svc: Service) -> Any:
    from hokusai_auth.security.gate import CredentialGate

    layer: Any = svc.app.middleware_stack
    while layer is not None and not isinstance(layer, CredentialGate):
        layer = getattr(layer, "app", None)
    assert layer is not None
    return layer


# ------------------------------------------------------------------------------------------- lengths


async def test_request_ids_longer_than_their_column_are_replaced_and_writes_still_work(svc: Service) -> None:
    for length in (REQUEST_ID_MAX, REQUEST_ID_MAX + 1, 100, 128, 129):
        request_id = "r" * length
        response = await svc.client.post(
            "/api/v1/keys",
            json={"name": "n", "service_id": "platform"},
            headers={**svc.admin, "X-Request-ID": request_id},
        )
        assert response.status_code == 201, (length, response.text)
        echoed = response.headers["x-request-id"]
        assert (echoed == request_id) == (length <= REQUEST_ID_MAX)
        revoked = await svc.client.delete(
            f"/api/v1/keys/{response.json()['key_id']}", headers={**svc.admin, "X-Request-ID": request_id}
        )
        assert revoked.status_code == 200, "a revocation must never fail on its own audit record"


async def test_long_user_agents_and_scoped_ipv6_from_a_trusted_proxy_fit_the_audit_columns(
    make_service: ServiceFactory, database_url: str
) -> None:
    svc = await make_service(database_url, trusted_proxies="203.0.113.0/24")
    address = "fe80::1234:5678:9abc:def0"
    headers = {**svc.admin, "User-Agent": "u" * 10_000, "X-Forwarded-For": f"{address}%{'eth' * 40}"}
    created = await svc.client.post("/api/v1/keys", json={"name": "n", "service_id": "platform"}, headers=headers)
    assert created.status_code == 201, created.text
    events = (await svc.client.get("/api/v1/audit-logs?action=api_key.create", headers=svc.admin)).json()
    assert events[0]["client_ip"] == address, "the zone id names an interface of another machine: dropped"
    assert len(events[0]["user_agent"]) == 512


# ------------------------------------------------------------------------------------------- body limits


class _CountingReceive:
    """A receive that streams ``size`` bytes in 64 KiB chunks and counts what was taken."""

    def __init__(self, size: int) -> None:
        self.remaining = size
        self.taken = 0

    async def __call__(self) -> dict[str, Any]:
        chunk = min(self.remaining, 65536)
        self.remaining -= chunk
        self.taken += chunk
        return {"type": "http.request", "body": b" " * chunk, "more_body": self.remaining > 0}


async def _raw_call(
    svc: Service, method: str, path: str, headers: list[tuple[bytes, bytes]], receive: Callable[[], Awaitable[Any]]
) -> tuple[int, dict[str, Any]]:
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "scheme": "http",
        "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "", "headers": headers,
        "client": ("203.0.113.9", 4000), "server": ("testserver", 80),
    }  # fmt: skip
    await svc.app(scope, receive, send)
    body = b"".join(message.get("body", b"") for message in sent if message["type"] == "http.response.body")
    return sent[0]["status"], orjson.loads(body)


async def test_a_body_without_credentials_is_never_read(svc: Service) -> None:
    for path in ("/api/v1/keys", f"/api/v1/usage/{uuid.uuid4()}", "/api/v1/auth/keys"):
        receive = _CountingReceive(900 * 1024)  # under the limit, no Content-Length: only reading could tell
        status, body = await _raw_call(svc, "POST", path, [(b"authorization", b"Bearer wrong")], receive)
        assert status == 401, body
        assert receive.taken == 0, f"{path}: {receive.taken} bytes read before the credential was checked"


async def test_bodies_over_the_limit_are_413_without_being_read_whole(svc: Service) -> None:
    declared = [(b"authorization", svc.admin["Authorization"].encode()), (b"content-length", b"209715200")]
    receive = _CountingReceive(200 * 1024 * 1024)
    status, body = await _raw_call(svc, "POST", "/api/v1/keys", declared, receive)
    assert (status, body["code"]) == (413, "payload_too_large")
    assert receive.taken == 0, "a declared length over the limit is refused before reading"
    chunked = [(b"authorization", svc.admin["Authorization"].encode()), (b"transfer-encoding", b"chunked")]
    receive = _CountingReceive(50 * 1024 * 1024)
    status, body = await _raw_call(svc, "POST", "/api/v1/keys", chunked, receive)
    assert (status, body["code"]) == (413, "payload_too_large")
    assert receive.taken <= 1024 * 1024 + 65536, "reading stops at the limit"
    receive = _CountingReceive(100 * 1024)
    status, body = await _raw_call(svc, "POST", "/api/v1/keys/validate", [], receive)
    assert (status, body["code"]) == (413, "payload_too_large"), "validate accepts 64 KiB"


async def test_the_body_limit_is_configurable(make_service: ServiceFactory, database_url: str) -> None:
    svc = await make_service(database_url, max_body_bytes=2048)
    response = await svc.client.post(
        "/api/v1/keys", json={"name": "n" * 3000, "service_id": "platform"}, headers=svc.admin
    )
    assert response.status_code == 413
    assert (await svc.create_key())["api_key"]


async def test_oversized_headers_are_431(svc: Service) -> None:
    response = await svc.client.post("/api/v1/keys/validate", headers={"X-API-Key": "k" * (10 * 1024 * 1024)})
    assert response.status_code == 431
    assert response.json()["code"] == "request_header_fields_too_large"


# ------------------------------------------------------------------------------------------- duplicates


@pytest.mark.parametrize(
    ("headers", "query"),
    [
        ([(b"authorization", b"Bearer a"), (b"authorization", b"Bearer b")], ""),
        ([(b"x-api-key", b"a"), (b"x-api-key", b"b")], ""),
        ([], "?api_key=a&api_key=b"),
        ([], "?api_key=a&API_KEY=b"),
    ],
)
async def test_a_credential_given_twice_is_a_400_everywhere(
    svc: Service, headers: list[tuple[bytes, bytes]], query: str
) -> None:
    key = (await svc.create_key())["api_key"]
    for method, path in [("POST", "/api/v1/keys/validate"), ("GET", "/api/v1/keys"), ("GET", "/health")]:
        both = [(name, value if value not in (b"a", b"Bearer a") else value.replace(b"a", key.encode()))
                for name, value in headers]  # fmt: skip
        admin = [(b"authorization", svc.admin["Authorization"].encode())] if not headers else []
        response = await svc.client.request(method, path + query, headers=both + admin)
        assert response.status_code == 400, (method, path, response.text)
        assert response.json()["code"] == "duplicate_credential"


# ------------------------------------------------------------------------------------------- secrets not echoed


async def test_a_key_pasted_into_another_field_is_never_echoed(svc: Service) -> None:
    key = (await svc.create_key())["api_key"]
    for body in (
        {"name": "n", "service_id": key},
        {"name": "n", "service_id": "platform", "allowed_ips": [key]},
        {"name": "n", "service_id": "platform", "scopes": [key + "!"]},
        {"name": "n", "service_id": "platform", "environment": key},
        {"name": "n", "service_id": "platform", "billing_plan": key},
    ):
        response = await svc.client.post("/api/v1/keys", json=body, headers=svc.admin)
        assert response.status_code == 422
        assert key[:20] not in response.text, body
    validated = await svc.validate(key, service_id=key)
    assert validated.status_code == 401
    assert key[:20] not in validated.text
    for path in ("/api/v1/usage/aggregate?service_id=", "/api/v1/keys?service_id="):
        response = await svc.client.get(path + key, headers=svc.admin)
        assert response.status_code == 422
        assert key[:20] not in response.text


async def test_an_unknown_key_in_every_place_is_masked_in_every_error(svc: Service) -> None:
    """The class: whatever route quotes input in an error, nothing key-shaped leaves unmasked."""
    key = tokens.generate("production")
    for method, path in _routes(svc):
        for query in (f"?service_id={key}", f"?cursor={key}", f"?period={key}", f"?since={key}"):
            response = await svc.client.request(method, path + query, headers=svc.admin, json={"name": key})
            assert key not in response.text, (method, path, query)


async def test_a_key_sent_as_request_id_or_user_agent_is_not_stored_in_the_audit_log(svc: Service) -> None:
    key = (await svc.create_key())["api_key"]
    headers = {**svc.admin, "X-Request-ID": key, "User-Agent": f"client/1.0 ({key})"}
    response = await svc.client.post("/api/v1/keys", json={"name": "n", "service_id": "platform"}, headers=headers)
    assert response.status_code == 201
    assert response.headers["x-request-id"] != key
    events = (await svc.client.get("/api/v1/audit-logs?action=api_key.create", headers=svc.admin)).text
    assert key not in events
    assert key[:11] + "***" in events, "the user agent keeps the key's public prefix only"
