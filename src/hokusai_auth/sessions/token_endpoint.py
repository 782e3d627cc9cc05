"""``POST /api/v1/tokens/validate``'s work on raw ASGI data, like the key validate endpoint's (validation/
endpoint.py): shared by the fast path that serves real requests and the route that documents it in OpenAPI.

The token comes from the body's ``token`` or, when the body has none, from ``Authorization: Bearer`` (so a
caller can forward the header it received). 200 only when valid; every refusal is a 401 with ``valid: false``.
"""

from __future__ import annotations

from datetime import UTC
from typing import Annotated, Any, Protocol

import orjson
from pydantic import ConfigDict, Field, ValidationError, field_validator

from hokusai._vocabulary import canonical_service, describe_services
from hokusai_auth.errors import ServiceError, schema_error_body
from hokusai_auth.request_model import RequestModel
from hokusai_auth.sessions.verification import TokenChecker, TokenRefusal
from hokusai_auth.validation.responses import Headers
from hokusai_auth.web.asgi import Scope
from hokusai_auth.web.credentials import bearer_token

Answer = tuple[int, bytes, Headers]
MAX_TOKEN_LENGTH = 8192
_JSON = [(b"cache-control", b"no-store")]


class TokenValidateRequest(RequestModel):
    model_config = ConfigDict(extra="forbid")

    token: Annotated[str, Field(max_length=MAX_TOKEN_LENGTH)] | None = None
    # The asking service (aliases ok). Tokens are good for every service; an unknown id is refused (422).
    service: str | None = None

    @field_validator("service")
    @classmethod
    def _known_service(cls, value: str | None) -> str | None:
        if value is not None and canonical_service(value) is None:
            raise ValueError(f"unknown service id; valid service ids: {describe_services()}")
        return value


class TokenChecking(Protocol):
    @property
    def token_checker(self) -> TokenChecker: ...


def _refusal_body(refusal: TokenRefusal) -> dict[str, Any]:
    return {"valid": False, "error": refusal.failure.error, "code": refusal.failure.value, "detail": refusal.detail}


async def answer_token(checking: TokenChecking, scope: Scope, raw_body: bytes) -> Answer:
    body = TokenValidateRequest()
    if raw_body.strip():
        try:
            body = TokenValidateRequest.model_validate_json(raw_body)
        except ValidationError as exc:
            errors = [{**error, "loc": ("body", *error["loc"])} for error in exc.errors(include_input=False)]
            return 422, orjson.dumps(schema_error_body(errors)), []
    token = body.token if body.token is not None else bearer_token(scope)
    try:
        checked = await checking.token_checker.check(token)
    except ServiceError as error:  # 503: the database did not answer
        return error.status, orjson.dumps(error.body()), error.raw_headers()
    if isinstance(checked, TokenRefusal):
        headers = [*_JSON, (b"www-authenticate", b'Bearer error="invalid_token"')]
        return 401, orjson.dumps(_refusal_body(checked)), headers
    content = {
        "valid": True,
        "user_id": str(checked.user_id),
        "wallet_address": checked.wallet_address,
        # A role in an organization, as "organization:<id>:<role>" (docs/organizations.md).
        "permissions": [f"organization:{organization_id}:{role}" for organization_id, role in checked.memberships],
        "organization_ids": [str(organization_id) for organization_id, _ in checked.memberships],
        "session_id": str(checked.session_id),
        "expires_at": checked.expires_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
    }
    return 200, orjson.dumps(content), list(_JSON)
