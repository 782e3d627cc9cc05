"""One error type for everything that reaches HTTP: a stable code, a public message, a status.

Handlers turn it (and schema errors, and anything unexpected) into the contract's JSON shape:
``{"detail": <string>, "code": <snake_case>, ...extra}``. Nothing internal (stack traces, SQL, input values that
may hold secrets) is ever put in a response.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy import exc as sa_exc
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, Response

from hokusai._vocabulary import ErrorCode, Failure
from hokusai_auth.redact import mask_keys

logger = logging.getLogger("hokusai_auth.errors")

RETRY_AFTER_UNAVAILABLE_S = 5
UNAVAILABLE_DETAIL = "Service temporarily unavailable: a dependency (the database) did not answer; retry shortly"
# Errors that say "the database (or another dependency) cannot be reached right now", not "this request is
# wrong": they answer 503 with Retry-After, so clients (the SDK) retry instead of giving up. asyncpg reports a
# refused connection as a bare OSError; a pool or statement that waits too long as TimeoutError.
UNAVAILABLE_ERRORS: tuple[type[Exception], ...] = (
    sa_exc.OperationalError,
    sa_exc.InterfaceError,
    sa_exc.DisconnectionError,
    sa_exc.TimeoutError,
    OSError,
    TimeoutError,
)
HTTP_CODES = {
    401: ErrorCode.UNAUTHORIZED,
    403: ErrorCode.FORBIDDEN,
    404: ErrorCode.NOT_FOUND,
    405: ErrorCode.METHOD_NOT_ALLOWED,
    408: ErrorCode.REQUEST_TIMEOUT,
    413: ErrorCode.PAYLOAD_TOO_LARGE,
    431: ErrorCode.HEADERS_TOO_LARGE,
}


class ServiceError(Exception):
    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        *,
        extra: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(f"{code}: {detail}")
        self.status = status
        self.code = code
        self.detail = detail
        self.extra = dict(extra or {})
        self.headers = dict(headers or {})

    def body(self) -> dict[str, Any]:
        return {"detail": mask_keys(self.detail), "code": self.code, **self.extra}

    def raw_headers(self) -> list[tuple[bytes, bytes]]:
        """The headers as ASGI sends them (for the layers in front of the framework)."""
        return [(name.lower().encode(), value.encode()) for name, value in self.headers.items()]


def unavailable() -> ServiceError:
    return ServiceError(
        503,
        Failure.UNAVAILABLE,
        UNAVAILABLE_DETAIL,
        headers={"Retry-After": str(RETRY_AFTER_UNAVAILABLE_S)},
    )


def not_found(detail: str) -> ServiceError:
    return ServiceError(404, ErrorCode.NOT_FOUND, detail)


def conflict(code: ErrorCode, detail: str) -> ServiceError:
    return ServiceError(409, code, detail)


def invalid_field(field: str, message: str, where: str = "body") -> ServiceError:
    """A 422 for a value that passed the schema but not a rule that needs more context (e.g. other fields)."""
    loc = [where, field]
    return ServiceError(
        422,
        ErrorCode.VALIDATION_ERROR,
        f"{field}: {message}",
        extra={"errors": [{"loc": loc, "field": field, "msg": message, "type": "value_error"}]},
    )


def _field_path(loc: Sequence[Any]) -> str:
    parts = [str(part) for part in loc]
    if parts and parts[0] in ("body", "query", "path", "header"):
        parts = parts[1:] or parts
    return ".".join(parts)


def schema_error_body(raw_errors: Sequence[Any]) -> dict[str, Any]:
    """The 422 body for schema errors: the first problem's field leads ``detail``; all are in ``errors``."""
    errors = []
    for error in raw_errors:
        # Never echo "input": a rejected body may well hold a key or token. Messages are masked too, in case a
        # validator ever quotes what it refused.
        msg = mask_keys(str(error.get("msg", "invalid value")).removeprefix("Value error, "))
        field = _field_path(error.get("loc", ()))
        errors.append({"loc": list(error.get("loc", ())), "field": field, "msg": msg, "type": error.get("type")})
    first = errors[0] if errors else {"field": "body", "msg": "invalid request"}
    detail = f"{first['field']}: {first['msg']}" if first["field"] else str(first["msg"])
    return {"detail": detail, "code": ErrorCode.VALIDATION_ERROR, "errors": errors}


def _schema_error_response(exc: RequestValidationError) -> JSONResponse:
    return JSONResponse(schema_error_body(exc.errors()), status_code=422)


def install_error_handlers(app: FastAPI) -> None:
    async def on_service_error(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ServiceError)
        return JSONResponse(exc.body(), status_code=exc.status, headers=exc.headers or None)

    async def on_schema_error(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        return _schema_error_response(exc)

    async def on_http_error(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        detail = exc.detail if isinstance(exc.detail, str) else "Request failed"
        return JSONResponse(
            {"detail": detail, "code": HTTP_CODES.get(exc.status_code, ErrorCode.HTTP_ERROR)},
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )

    async def on_unavailable(request: Request, exc: Exception) -> Response:
        logger.warning(
            "dependency unavailable: %s",
            type(exc).__name__,
            extra={"request_id": request.scope.get("hokusai.request_id"), "path": request.url.path},
        )
        error = unavailable()
        return JSONResponse(error.body(), status_code=error.status, headers=error.headers)

    async def on_unexpected(request: Request, exc: Exception) -> Response:
        request_id = request.scope.get("hokusai.request_id")
        logger.exception("unhandled error", extra={"request_id": request_id, "path": request.url.path})
        return JSONResponse(
            {"detail": "Internal server error", "code": ErrorCode.INTERNAL_ERROR, "request_id": request_id},
            status_code=500,
        )

    app.add_exception_handler(ServiceError, on_service_error)
    app.add_exception_handler(RequestValidationError, on_schema_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    for error_type in UNAVAILABLE_ERRORS:
        app.add_exception_handler(error_type, on_unavailable)
    app.add_exception_handler(Exception, on_unexpected)
