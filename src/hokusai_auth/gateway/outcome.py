"""What authenticating a request through the gateway decided, and how a refusal is answered.

The validate contract's codes are mapped to what an HTTP client of the upstream expects: a missing or bad key is
401, a good key without the right (service, scope, address) is 403, limits are 429, an unreachable auth service
is 503 — never a 5xx for a bad credential, since MLflow clients retry 5xx for minutes. Bodies carry the contract's
fields plus MLflow's ``error_code`` and ``message``, which MLflow clients print.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import orjson

STATUS_BY_CODE = {
    "missing_api_key": 401,
    "invalid_api_key": 401,
    "expired": 401,
    "revoked": 401,
    "wrong_service": 403,
    "environment_mismatch": 403,
    "ip_not_allowed": 403,
    "insufficient_scope": 403,
    "rate_limited": 429,
    "quota_exceeded": 429,
    "service_unavailable": 503,
}
MLFLOW_ERROR_CODE = {401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 429: "RESOURCE_EXHAUSTED",
                     503: "TEMPORARILY_UNAVAILABLE"}  # fmt: skip
HOW_TO_SEND = (
    "send your Hokusai API key as 'Authorization: Bearer <key>' (MLFLOW_TRACKING_TOKEN), as the Basic-auth "
    "password (MLFLOW_TRACKING_PASSWORD) or in X-API-Key"
)


@dataclass(frozen=True, slots=True)
class Outcome:
    allowed: bool
    key_id: str | None = None
    user_id: str | None = None
    code: str | None = None
    error: str | None = None
    detail: str | None = None
    retry_after: int | None = None
    extra: dict[str, str] = field(default_factory=dict)
    rate_headers: tuple[tuple[str, str], ...] = ()

    @property
    def status(self) -> int:
        return 200 if self.allowed else STATUS_BY_CODE.get(self.code or "", 503)

    def refusal(self, *, basic_realm: bool) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        status = self.status
        message = self.detail or self.error or "Request refused"
        if self.code == "missing_api_key":
            message = f"API key required: {HOW_TO_SEND}"
        body = {
            "is_valid": False,
            "error": self.error,
            "code": self.code,
            "detail": self.detail,
            **self.extra,
            "error_code": MLFLOW_ERROR_CODE.get(status, "INTERNAL_ERROR"),
            "message": f"Hokusai gateway: {message}",
        }
        headers = [(name.encode(), value.encode()) for name, value in self.rate_headers]
        if self.retry_after is not None:
            headers.append((b"retry-after", str(self.retry_after).encode()))
        if status == 401 and basic_realm:  # lets a browser (MLflow UI) ask for the key as a password
            headers.append((b"www-authenticate", b'Basic realm="Hokusai", charset="UTF-8"'))
        return status, headers, orjson.dumps(body)


def unavailable(detail: str, retry_after: int = 5) -> Outcome:
    return Outcome(False, code="service_unavailable", error="Service temporarily unavailable", detail=detail,
                   retry_after=retry_after)  # fmt: skip
