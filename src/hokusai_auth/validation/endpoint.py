"""The validate endpoint's work, on raw ASGI data: find the key, parse the body, ask the validator, render.

Shared by the fast path (fast_path.py, which serves every real request) and the FastAPI route (routes.py, which
documents the endpoint in OpenAPI), so both answer byte for byte alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import orjson
from pydantic import ValidationError

from hokusai_auth.errors import schema_error_body
from hokusai_auth.validation.responses import Headers, render
from hokusai_auth.validation.schemas import ValidateRequest
from hokusai_auth.validation.state import CheckRequest
from hokusai_auth.validation.validator import Validator
from hokusai_auth.web.asgi import Scope
from hokusai_auth.web.client_ip import IPNetwork, client_ip
from hokusai_auth.web.credentials import find_key

Answer = tuple[int, bytes, Headers]
_EMPTY = ValidateRequest()


class Validating(Protocol):
    """What answering needs: the validator, and which proxies may name the client's address. The running service
    (runtime.py) is one; it is found on ``app.state.runtime``."""

    @property
    def validator(self) -> Validator: ...

    @property
    def trusted_proxies(self) -> Sequence[IPNetwork]: ...


async def answer(validating: Validating, scope: Scope, raw_body: bytes) -> Answer:
    body = _EMPTY
    if raw_body.strip():
        try:
            body = ValidateRequest.model_validate_json(raw_body)
        except ValidationError as exc:
            errors = [{**error, "loc": ("body", *error["loc"])} for error in exc.errors(include_input=False)]
            return 422, orjson.dumps(schema_error_body(errors)), []

    check = CheckRequest(
        service_id=body.service_id,
        required_scope=body.required_scope,
        client_ip=body.client_ip or client_ip(scope, validating.trusted_proxies),
        environment=body.environment,
        cost=body.cost,
        any_scope=tuple(body.any_scope or ()),
    )
    return render(await validating.validator.validate(find_key(scope, body_key=body.api_key), check))
