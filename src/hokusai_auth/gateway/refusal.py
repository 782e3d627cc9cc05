"""How the gateway answers a refused verdict: the only thing the gateway adds to the validator's decision.

The validate contract's codes are mapped to what an HTTP client of the upstream expects, by what the failure means
(``FailureKind``): a missing or bad key is 401, a good key without the right (service, environment, address,
scope) is 403, limits are 429, an unreachable auth service is 503 — never a 5xx for a bad credential, since MLflow
clients retry 5xx for minutes. Bodies carry the contract's fields plus MLflow's ``error_code`` and ``message``,
which MLflow clients print.
"""

from __future__ import annotations

from types import MappingProxyType

import orjson

from hokusai._vocabulary import GATEWAY_MLFLOW_ERROR_CODES, Failure, FailureKind
from hokusai_auth.validation.responses import verdict_headers
from hokusai_auth.validation.validator import Verdict

STATUS_BY_KIND = MappingProxyType({
    FailureKind.CREDENTIAL: 401,
    FailureKind.PERMISSION: 403,
    FailureKind.LIMIT: 429,
    FailureKind.UNAVAILABLE: 503,
})  # fmt: skip
HOW_TO_SEND = (
    "send your Hokusai API key as 'Authorization: Bearer <key>' (MLFLOW_TRACKING_TOKEN), as the Basic-auth "
    "password (MLFLOW_TRACKING_PASSWORD) or in X-API-Key"
)
BASIC_CHALLENGE = (b"www-authenticate", b'Basic realm="Hokusai", charset="UTF-8"')


def refusal(verdict: Verdict, *, basic_realm: bool) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """Status, headers and body for a verdict that refused the key."""
    rejection = verdict.rejection
    if rejection is None:
        raise ValueError("a valid verdict is not refused")
    status = STATUS_BY_KIND[rejection.code.kind]
    message = rejection.detail
    if rejection.code is Failure.MISSING:
        message = f"{rejection.error}: {HOW_TO_SEND}"
    body = {
        "is_valid": False,
        "error": rejection.error,
        "code": rejection.code,
        "detail": rejection.detail,
        **dict(rejection.extra),
        "error_code": GATEWAY_MLFLOW_ERROR_CODES[status],
        "message": f"Hokusai gateway: {message}",
    }
    headers = verdict_headers(verdict)
    if status == 401 and basic_realm:  # lets a browser (MLflow UI) ask for the key as a password
        headers.append(BASIC_CHALLENGE)
    return status, headers, orjson.dumps(body)
