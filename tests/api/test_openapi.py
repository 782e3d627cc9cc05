"""The published OpenAPI document says what the service answers: one error shape, the edge's refusals, and which
credential each operation needs."""

from __future__ import annotations

from hokusai_auth.openapi import ErrorBody
from tests.conftest import Service


async def test_every_error_answer_is_documented_with_a_schema(service: Service) -> None:
    spec = (await service.client.get("/openapi.json")).json()
    assert "HTTPValidationError" not in spec["components"]["schemas"], "FastAPI's 422 shape is not what we send"
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            assert {"400", "413", "431"} <= responses.keys(), (method, path)
            for status, response in responses.items():
                if status[0] in "45":
                    assert response["content"]["application/json"]["schema"]["$ref"], (method, path, status)


async def test_each_operation_names_the_credential_it_needs(service: Service) -> None:
    spec = (await service.client.get("/openapi.json")).json()
    assert spec["components"]["securitySchemes"]["adminToken"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "the operator's ADMIN_TOKEN",
    }
    security = {(method, path): op.get("security") for path, ops in spec["paths"].items() for method, op in ops.items()}
    assert security[("post", "/api/v1/keys")] == [{"adminToken": []}, {"accessToken": []}]
    assert security[("get", "/auth/me")] == [{"accessToken": []}]
    assert security[("get", "/api/v1/admin/users")] == [{"adminToken": []}]
    assert security[("post", "/api/v1/tokens/validate")] is None, "validation is public"
    assert security[("post", "/auth/siwe/verify")] is None
    assert security[("get", "/api/v1/audit-logs")] == [{"adminToken": []}]
    assert security[("post", "/api/v1/usage/{key_id}")] == [{"serviceToken": []}, {"adminToken": []}]
    assert security[("post", "/api/v1/keys/validate")] is None, "validation is public"
    assert security[("get", "/health")] is None
    for (method, path), needed in security.items():
        if needed:
            assert {"401", "429", "503"} <= spec["paths"][path][method]["responses"].keys(), (method, path)


async def test_real_errors_match_the_published_error_shape(service: Service) -> None:
    answers = [
        await service.client.get("/api/v1/audit-logs?cursor=nope", headers=service.admin),
        await service.client.post("/api/v1/keys", json={"name": ""}, headers=service.admin),
        await service.client.get("/api/v1/keys"),
        await service.client.get("/api/v1/keys?user_id=%00", headers=service.admin),
    ]
    for answer in answers:
        assert answer.status_code >= 400
        ErrorBody.model_validate(answer.json())
