"""The SDK's errors: one hierarchy, chosen from the service's HTTP status and stable ``code``.

Callers catch the class that says what to do next (fix the credential, ask for more rights, wait, retry later)
instead of parsing messages. Messages never contain a key or token: they come from the service's public
``detail``, which is written to be safe, or from the SDK itself.
"""

from __future__ import annotations

from typing import Any

from hokusai._vocabulary import ErrorCode, Failure, FailureKind


class HokusaiError(Exception):
    """Anything the SDK reports. ``status`` and ``code`` are set when the service answered."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        body: dict[str, Any] | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.body = body or {}
        self.request_id = request_id

    def __str__(self) -> str:
        return self.message


class ConfigurationError(HokusaiError):
    """The SDK lacks something it needs (a URL, a credential) or was given something unusable."""


class AuthenticationError(HokusaiError):
    """The credential was missing, wrong, expired or revoked (HTTP 401)."""


class AuthorizationError(HokusaiError):
    """The credential is good but may not do this: wrong service, missing scope, IP not allowed, or a member of an
    organization below the role this needs (HTTP 403)."""

    @property
    def required_scope(self) -> str | None:
        value = self.body.get("required_scope")
        return str(value) if value is not None else None

    @property
    def required_role(self) -> str | None:
        """The organization role this needs (``insufficient_role``): owner, admin, developer or viewer."""
        value = self.body.get("required_role")
        return str(value) if value is not None else None


class NotFoundError(HokusaiError):
    """The key (or other resource) does not exist (HTTP 404)."""


class ConflictError(HokusaiError):
    """The resource is in a state that forbids this, e.g. a key that was already rotated (HTTP 409)."""


class InvalidRequestError(HokusaiError):
    """The service refused the request's content (HTTP 422/400/413); ``field`` names the offending field."""

    @property
    def field(self) -> str | None:
        errors = self.body.get("errors")
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            field = errors[0].get("field")
            return str(field) if field else None
        return None


class RateLimitError(HokusaiError):
    """Too many requests, or the monthly quota is used up (HTTP 429). Wait ``retry_after`` seconds."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class ServiceUnavailableError(HokusaiError):
    """The service could not be reached or is temporarily unable to answer (connection errors, 502/503/504)."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


_BY_STATUS: dict[int, type[HokusaiError]] = {
    400: InvalidRequestError,
    401: AuthenticationError,
    403: AuthorizationError,
    404: NotFoundError,
    409: ConflictError,
    413: InvalidRequestError,
    422: InvalidRequestError,
    502: ServiceUnavailableError,
    503: ServiceUnavailableError,
    504: ServiceUnavailableError,
}

_BY_KIND: dict[FailureKind, type[HokusaiError]] = {
    FailureKind.CREDENTIAL: AuthenticationError,
    FailureKind.PERMISSION: AuthorizationError,
    FailureKind.LIMIT: RateLimitError,
    FailureKind.UNAVAILABLE: ServiceUnavailableError,
}
# Codes that mean the same thing whatever status carried them (the validate endpoint answers 401 for a key
# that lacks a scope; the gateway answers 403 for the same code).
_BY_CODE: dict[str, type[HokusaiError]] = {
    **{failure: _BY_KIND[failure.kind] for failure in Failure},
    ErrorCode.UNAUTHORIZED: AuthenticationError,
    ErrorCode.FORBIDDEN: AuthorizationError,
    ErrorCode.UPSTREAM_UNREACHABLE: ServiceUnavailableError,  # the gateway: MLflow or the prediction API is down
    ErrorCode.UPSTREAM_TIMEOUT: ServiceUnavailableError,
    ErrorCode.NOT_FOUND: NotFoundError,
    ErrorCode.VALIDATION_ERROR: InvalidRequestError,
    ErrorCode.CLAIMED: ConflictError,  # 410: the claim link was used; like a conflict, the state forbids it
    ErrorCode.INSUFFICIENT_ROLE: AuthorizationError,
    ErrorCode.INVITATION_FOR_ANOTHER_USER: AuthorizationError,
    ErrorCode.LAST_OWNER: ConflictError,
    ErrorCode.ALREADY_MEMBER: ConflictError,
    # Device sign-in (400): the sign-in was refused or is over, as a wrong keystore password is.
    ErrorCode.ACCESS_DENIED: AuthenticationError,
    ErrorCode.EXPIRED_TOKEN: AuthenticationError,
}


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds; HTTP dates are not used by Hokusai services)."""
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return max(seconds, 0.0)


def error_for(
    status: int, body: dict[str, Any], *, retry_after: float | None = None, request_id: str | None = None
) -> HokusaiError:
    """The typed error for an HTTP answer that is not a success."""
    code = body.get("code") if isinstance(body.get("code"), str) else None
    detail = body.get("detail") if isinstance(body.get("detail"), str) else None
    message = detail or (body.get("error") if isinstance(body.get("error"), str) else None) or f"HTTP {status}"
    role = body.get("required_role")
    if code == ErrorCode.INSUFFICIENT_ROLE and isinstance(role, str) and role.lower() not in message.lower():
        message = f"{message} (needs the {role.capitalize()} role)"
    cls = _BY_CODE.get(code or "") or _BY_STATUS.get(status)
    if cls is None:
        cls = RateLimitError if status == 429 else HokusaiError
    common: dict[str, Any] = {"status": status, "code": code, "body": body, "request_id": request_id}
    if cls in (RateLimitError, ServiceUnavailableError):
        return cls(message, retry_after=retry_after, **common)
    return cls(message, **common)
