"""MLflow failures, as the SDK's typed errors with messages that name the cause.

Two sources: answers to the SDK's own connectivity probe (status + JSON body) and exceptions from the MLflow
client. Through the gateway, refusals carry the contract's ``code`` and ``detail`` (and ``required_scope``);
MLflow's client keeps that body in ``RestException.json``. Messages never contain the key: the key and any
secret in the tracking URI are masked before a message is built.
"""

from __future__ import annotations

from typing import Any

from hokusai._errors import (
    AuthenticationError,
    AuthorizationError,
    ConfigurationError,
    HokusaiError,
    NotFoundError,
    RateLimitError,
    ServiceUnavailableError,
    error_for,
)
from hokusai._mlflow_settings import MlflowSettings
from hokusai._vocabulary import GATEWAY_MLFLOW_ERROR_CODES, MLFLOW_MOUNT, MLFLOW_WRITE_SCOPES, ErrorCode, Failure

# MLflow error_code -> HTTP status, for answers MLflow's client turned into exceptions: what the gateway sends,
# and what MLflow (or a proxy before it) sends itself.
STATUS_BY_MLFLOW_CODE = {
    **{code: status for status, code in GATEWAY_MLFLOW_ERROR_CODES.items()},
    "CUSTOMER_UNAUTHORIZED": 401,
    "REQUEST_LIMIT_EXCEEDED": 429,
    "RESOURCE_DOES_NOT_EXIST": 404,
    "ENDPOINT_NOT_FOUND": 404,
    "NOT_FOUND": 404,
    "RESOURCE_ALREADY_EXISTS": 409,
    "INVALID_PARAMETER_VALUE": 400,
    "BAD_REQUEST": 400,
}
UPSTREAM_CODES = frozenset({ErrorCode.UPSTREAM_UNREACHABLE, ErrorCode.UPSTREAM_TIMEOUT})


def _key_phrase(settings: MlflowSettings) -> str:
    if settings.api_key_prefix:
        return f"the API key {settings.api_key_prefix} from {settings.api_key_source}"
    return "the request"


def from_answer(
    status: int, body: dict[str, Any], settings: MlflowSettings, *, retry_after: float | None = None
) -> HokusaiError:
    """The typed error for a refused request to the tracking server (or the gateway in front of it)."""
    base = error_for(status, body, retry_after=retry_after)
    detail = str(body.get("detail") or body.get("message") or f"HTTP {status}")
    if "Invalid Host header" in detail:
        # MLflow 3's DNS-rebinding guard: the server is misconfigured, the key is not at fault.
        message = (
            f"MLflow behind {settings.safe_tracking_uri} refuses the host name it is addressed by ({detail}): its "
            "operator must start it with --allowed-hosts (see docs/gateway.md)"
        )
        return _with_message(HokusaiError(message, status=status, body=body), settings.redact(message))
    if status in (401, 403) and not base.code:
        # Every refusal of the Hokusai gateway carries a code; this one came from MLflow (or a proxy) itself.
        message = f"MLflow at {settings.safe_tracking_uri} refused the request itself (HTTP {status}): {detail}"
        return _with_message(base, settings.redact(message))
    if isinstance(base, AuthenticationError):
        message = _authentication(base, detail, settings)
    elif isinstance(base, AuthorizationError):
        message = _authorization(base, detail, settings)
    elif isinstance(base, RateLimitError):
        wait = f"; retry in {base.retry_after:g} s" if base.retry_after is not None else ""
        message = f"MLflow at {settings.safe_tracking_uri} is rate-limiting {_key_phrase(settings)}: {detail}{wait}"
    elif isinstance(base, ServiceUnavailableError) or status in (502, 503, 504):
        message = _unavailable(base.code, status, detail, settings)
        base = ServiceUnavailableError(message, retry_after=retry_after, status=status, code=base.code, body=body)
    elif isinstance(base, NotFoundError):
        message = f"MLflow at {settings.safe_tracking_uri}: {detail}"
    else:
        message = f"MLflow at {settings.safe_tracking_uri} refused the request (HTTP {status}): {detail}"
    return _with_message(base, settings.redact(message))


def _authentication(error: HokusaiError, detail: str, settings: MlflowSettings) -> str:
    where = settings.safe_tracking_uri
    if error.code == Failure.MISSING:
        return f"MLflow at {where} needs a Hokusai API key and got none: set HOKUSAI_API_KEY or pass api_key="
    return (
        f"MLflow at {where} refused {_key_phrase(settings)}: {detail}. A wrong, expired, revoked or rotated key "
        "must be replaced (`hokusai auth validate --key ...` checks one)"
    )


def _authorization(error: AuthorizationError, detail: str, settings: MlflowSettings) -> str:
    where, scope = settings.safe_tracking_uri, error.required_scope
    if error.code != Failure.INSUFFICIENT_SCOPE and not scope:
        return f"{_key_phrase(settings)} may not use MLflow at {where}: {detail}"
    if scope in (None, *MLFLOW_WRITE_SCOPES):
        return (
            f"{_key_phrase(settings)} may not write to MLflow at {where}: writing needs the "
            f"{' or '.join(MLFLOW_WRITE_SCOPES)} scope (or a key without scopes); create one with "
            f"`hokusai auth create-key --scope {MLFLOW_WRITE_SCOPES[0]}`. ({detail})"
        )
    return f"{_key_phrase(settings)} may not do this at MLflow ({where}): it needs the {scope} scope ({detail})"


def _unavailable(code: str | None, status: int, detail: str, settings: MlflowSettings) -> str:
    where = settings.safe_tracking_uri
    if code == Failure.UNAVAILABLE:
        return f"the Hokusai gateway at {where} cannot reach the auth service to check the key: {detail}"
    if code in UPSTREAM_CODES:
        return f"the Hokusai gateway at {where} answers, but MLflow behind it is unreachable ({detail})"
    return f"MLflow at {where} is unavailable (HTTP {status}): {detail}"


def unreachable(settings: MlflowSettings, cause: str) -> ServiceUnavailableError:
    where = settings.safe_tracking_uri
    if settings.tracking_uri_source.startswith("default"):
        # Nobody chose this URL: say so, and how to choose one.
        advice = (
            "no MLflow URL is configured, so that is the default (Hokusai's hosted registry); set "
            "HOKUSAI_API_ENDPOINT to your gateway (or MLFLOW_TRACKING_URI), or run `hokusai auth login "
            "--api-endpoint URL`"
        )
    else:
        advice = f"check the tracking URI (from {settings.tracking_uri_source}) and that it is running"
    return ServiceUnavailableError(settings.redact(f"MLflow at {where} is unreachable ({cause}): {advice}"))


def not_mlflow(settings: MlflowSettings, status: int, probe_path: str) -> ConfigurationError:
    return ConfigurationError(
        f"{settings.safe_tracking_uri} did not answer like an MLflow tracking server (HTTP {status} to "
        f"{probe_path}): check the tracking URI (through the gateway it ends in {MLFLOW_MOUNT} or is the gateway's "
        "root)"
    )


def from_exception(exc: BaseException, settings: MlflowSettings) -> HokusaiError:
    """The typed error for an exception raised by the MLflow client (``MlflowException`` or ``requests``)."""
    import requests
    from mlflow.exceptions import MlflowException, RestException

    if isinstance(exc, RestException):
        body = exc.json if isinstance(exc.json, dict) else {}
        code = str(body.get("error_code") or exc.error_code)
        return from_answer(STATUS_BY_MLFLOW_CODE.get(code, 500), body, settings)
    for link in _chain(exc):
        if isinstance(link, requests.HTTPError) and link.response is not None:
            return from_answer(link.response.status_code, _json_object(link.response), settings)
        if isinstance(link, requests.RequestException):
            return unreachable(settings, type(link).__name__)
    if isinstance(exc, MlflowException):
        # A refusal without a JSON body: MLflow still derived its error_code from the HTTP status.
        status = STATUS_BY_MLFLOW_CODE.get(str(exc.error_code), 500)
        if status in (401, 403, 429, 502, 503, 504):
            return from_answer(status, {"detail": str(exc)}, settings)
    error = HokusaiError(settings.redact(f"MLflow at {settings.safe_tracking_uri} failed: {exc}"))
    error.__cause__ = exc
    return error


def _chain(exc: BaseException) -> list[BaseException]:
    """The exception and what caused it (MLflow re-raises network errors without ``from``, hence __context__)."""
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def _json_object(response: Any) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _with_message(error: HokusaiError, message: str) -> HokusaiError:
    error.message = message
    error.args = (message,)
    return error
