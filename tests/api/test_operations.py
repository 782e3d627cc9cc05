"""/health, /ready, /metrics, the security envelope of every response, and behaviour with the database down."""

from __future__ import annotations

import pytest

from tests.conftest import Service, ServiceFactory

SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "strict-origin-when-cross-origin",
}


async def test_health_and_ready(service: Service) -> None:
    health = await service.client.get("/health")
    assert (health.status_code, health.json()) == (200, {"status": "ok"})
    ready = await service.client.get("/ready")
    assert ready.status_code == 200
    assert ready.json()["checks"]["database"] is True


async def test_database_down(make_service: ServiceFactory, backend: str) -> None:
    unreachable = (
        "postgresql://postgres@127.0.0.1:1/nowhere" if backend == "postgresql" else "sqlite:////nonexistent/x.db"
    )
    svc = await make_service(unreachable)
    ready = await svc.client.get("/ready")
    assert ready.status_code == 503
    assert ready.json() == {"status": "not ready", "checks": {"database": False}}
    assert (await svc.client.get("/health")).status_code == 200, "liveness does no I/O"
    # A good-looking key while the key store is unreachable: 503 with Retry-After, never a 401.
    from hokusai_auth.keys import tokens

    response = await svc.validate(tokens.generate("production"))
    assert response.status_code == 503
    assert response.headers["retry-after"]
    assert response.json()["is_valid"] is False


async def test_every_response_carries_the_security_envelope(service: Service) -> None:
    responses = [
        await service.client.get("/health"),
        await service.client.get("/nope"),
        await service.client.post("/api/v1/keys/validate"),
        await service.client.post("/api/v1/keys", json={}, headers=service.admin),
    ]
    for response in responses:
        for name, value in SECURITY_HEADERS.items():
            assert response.headers[name] == value
        assert "default-src 'none'" in response.headers["content-security-policy"]
        assert response.headers["x-request-id"]
        assert "strict-transport-security" not in response.headers, "plain HTTP from an untrusted peer"
    assert responses[1].json() == {"detail": "Not Found", "code": "not_found"}


async def test_request_id_is_echoed_when_sane(service: Service) -> None:
    echoed = await service.client.get("/health", headers={"X-Request-ID": "trace-1234"})
    assert echoed.headers["x-request-id"] == "trace-1234"
    replaced = await service.client.get("/health", headers={"X-Request-ID": "bad id\twith spaces"})
    assert replaced.headers["x-request-id"] != "bad id\twith spaces"


async def test_hsts_behind_a_trusted_tls_proxy(make_service: ServiceFactory, database_url: str) -> None:
    svc = await make_service(database_url, trusted_proxies="203.0.113.0/24")
    response = await svc.client.get("/health", headers={"X-Forwarded-Proto": "https"})
    assert response.headers["strict-transport-security"].startswith("max-age=")


async def test_metrics_count_requests_by_route_template_and_validations_by_outcome(service: Service) -> None:
    created = await service.create_key()
    await service.client.get(f"/api/v1/keys/{created['key_id']}", headers=service.admin)
    await service.validate(created["api_key"])
    await service.client.post("/api/v1/keys/validate")
    text = (await service.client.get("/metrics")).text
    assert 'hokusai_http_requests_total{method="GET",route="/api/v1/keys/{key_id}",status="200"} 1.0' in text
    assert created["key_id"] not in text, "raw paths never become labels"
    assert 'hokusai_http_requests_total{method="POST",route="/api/v1/keys/validate",status="200"} 1.0' in text
    assert "<unmatched>" not in text
    assert 'hokusai_key_validations_total{outcome="valid"} 1.0' in text
    assert 'hokusai_key_validations_total{outcome="missing_api_key"} 1.0' in text
    assert "hokusai_http_request_duration_seconds_bucket" in text


async def test_openapi_has_stable_operation_ids_and_docs_are_served(service: Service) -> None:
    schema = (await service.client.get("/openapi.json")).json()
    operation_ids = {op["operationId"] for path in schema["paths"].values() for op in path.values()}
    assert {
        "create_api_key", "list_api_keys", "get_api_key", "update_api_key", "revoke_api_key", "rotate_api_key",
        "validate_api_key", "list_audit_logs", "health", "ready", "metrics",
    } <= operation_ids  # fmt: skip
    # The docs pages and their assets come from the service itself (tests/e2e/test_api_docs_browser.py renders them).
    for page in ("/docs", "/redoc"):
        answer = await service.client.get(page)
        assert answer.status_code == 200
        assert "https:" not in answer.text, "nothing is loaded from another host"
        csp = answer.headers["content-security-policy"]
        assert "script-src 'self';" in csp
        assert "https:" not in csp
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css", "swagger-init.js", "redoc.standalone.js"):
        answer = await service.client.get(f"/docs/assets/{asset}")
        assert answer.status_code == 200, asset
        assert answer.headers["content-type"].startswith(("text/javascript", "text/css"))
    assert (await service.client.get("/docs/assets/..%2fstandalone_docs.py")).status_code == 404
    assert (await service.client.get("/docs/assets/index.html")).status_code == 404


async def test_every_endpoint_answers_503_with_retry_after_while_the_database_is_down(
    make_service: ServiceFactory, backend: str
) -> None:
    """The class: every operation in the OpenAPI document, with a good credential, while the database cannot be
    reached: 503 + Retry-After (which the SDK retries), never a 500."""
    import uuid
    from datetime import UTC, datetime

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from hokusai import _jws
    from hokusai_auth.keys import tokens
    from hokusai_auth.siwe.message import SiweMessage, render
    from tests.wallet import Wallet

    unreachable = (
        "postgresql://postgres@127.0.0.1:1/nowhere" if backend == "postgresql" else "sqlite:////nonexistent/x.db"
    )
    svc = await make_service(unreachable)
    key_id = str(uuid.uuid4())
    wallet = Wallet()
    message = render(SiweMessage(domain="127.0.0.1:8000", address=wallet.address, uri="http://127.0.0.1:8000",
                                 chain_id=1, nonce="A" * 24, issued_at=datetime.now(UTC)))  # fmt: skip
    # A well-signed token from a key this instance cannot know yet: checking it needs the database (the keys).
    user_token = _jws.sign({"sub": key_id, "sid": key_id}, "new-kid", Ed25519PrivateKey.generate())
    as_user = {"Authorization": f"Bearer {user_token}"}
    bodies = {
        "/auth/siwe/challenge": {"wallet_address": wallet.address},
        "/auth/siwe/verify": {"message": message, "signature": wallet.sign(message)},
        "/auth/token/refresh": {"refresh_token": "hkr_" + "a" * 43},
        "/api/v1/tokens/validate": {"token": user_token},
        "/api/v1/admin/users/{user_id}": {"is_active": False},
        "/api/v1/keys": {"name": "n", "service_id": "platform"},
        "/api/v1/usage/{key_id}": {
            "service_id": "platform",
            "endpoint": "/x",
            "status_code": 200,
            "response_time_ms": 1,
        },
        "/api/v1/keys/{key_id}": {"name": "renamed"},
        "/api/v1/keys/validate": {"api_key": tokens.generate("production")},
        "/register": {
            "organization_name": "Acme",
            "contact_email": "ops@acme.example",
            "contact_name": "Ada",
            "use_case": "forecasts",
        },
        "/registration/verify-email": {"token": "hkv_" + "a" * 43},
        "/registration/status": {"email": "ops@acme.example"},
        "/api/v1/admin/registrations/{registration_id}": {"status": "approved"},
        "/api/v1/organizations": {"name": "Acme"},
        "/api/v1/organizations/{org_id}": {"name": "Acme ML"},
        "/api/v1/organizations/{org_id}/members/{user_id}": {"role": "viewer"},
        "/api/v1/organizations/{org_id}/invitations": {"email": "dev@acme.example", "role": "developer"},
        "/api/v1/invitations/accept": {"token": "hki_" + "a" * 43},
        "/api/v1/organizations/{org_id}/api-keys": {"name": "n", "service_id": "platform"},
        "/api/v1/admin/organizations/{org_id}": {"billing_plan": "pro"},
        "/auth/device/code": {"client_name": "hokusai CLI"},
        "/auth/device/token": {"device_code": "hkd_" + "a" * 43},
        "/auth/device/approve": {"user_code": "BCDF-GHJK"},
        "/auth/device/deny": {"user_code": "BCDF-GHJK"},
    }
    as_user_prefixes = ("/auth/", "/api/v1/claims/", "/api/v1/organizations", "/api/v1/invitations/")
    no_database = {"/health", "/metrics", "/openapi.json"}
    for template, operations in svc.app.openapi()["paths"].items():
        for method in operations:
            path = template.replace("{key_id}", key_id).replace("{user_id}", key_id).replace("{session_id}", key_id)
            path = path.replace("{registration_id}", key_id).replace("{token}", "hkc_" + "a" * 43)
            path = path.replace("{org_id}", key_id).replace("{invitation_id}", key_id)
            body = bodies.get(template) if method in ("post", "patch") else None
            headers = as_user if template.startswith(as_user_prefixes) else svc.admin
            response = await svc.client.request(method, path, json=body, headers=headers)
            if template in no_database:
                assert response.status_code == 200, (method, path)
                continue
            assert response.status_code == 503, (method, path, response.status_code, response.text)
            assert int(response.headers["retry-after"]) > 0, (method, path)
            if template != "/ready":  # /ready answers the contract's {"status", "checks"} shape
                assert response.json()["code"] == "service_unavailable"
    wrong = await svc.client.get("/api/v1/keys", headers={"Authorization": "Bearer wrong"})
    assert wrong.status_code == 401, "refusing a wrong token needs no database"


async def test_an_unexpected_error_is_a_500_inside_the_envelope_without_internals(
    make_service: ServiceFactory, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    svc = await make_service(database_url)

    async def boom() -> None:
        raise RuntimeError("secret internals: SELECT * FROM api_keys")

    svc.app.add_api_route("/boom", boom)
    with caplog.at_level("ERROR", logger="hokusai_auth.errors"):
        response = await svc.client.get("/boom", headers={"X-Request-ID": "trace-500"})
    assert response.status_code == 500
    assert response.json() == {"detail": "Internal server error", "code": "internal_error", "request_id": "trace-500"}
    assert response.headers["x-request-id"] == "trace-500"
    for name, value in SECURITY_HEADERS.items():
        assert response.headers[name] == value
    logged = [record for record in caplog.records if getattr(record, "request_id", None) == "trace-500"]
    assert len(logged) == 1, "the log line the request id leads to"
