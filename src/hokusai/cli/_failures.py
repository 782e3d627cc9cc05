"""Every way a command can fail, as one line for people and an exit code for scripts. Never a traceback.

| exit | meaning |
|---|---|
| 0 | success |
| 1 | the service refused (e.g. a key is not valid) or an unexpected error |
| 2 | bad usage or input (a flag, a value the service rejected with 422) |
| 3 | configuration: no URL, no credential, unknown profile |
| 4 | the credential was refused (401) or lacks the right (403) |
| 5 | not found |
| 6 | conflict (e.g. the key was already rotated) |
| 7 | rate limited or quota used up |
| 8 | the service is unreachable or unavailable |
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import typer

from hokusai._errors import (
    AuthenticationError,
    AuthorizationError,
    ConfigurationError,
    ConflictError,
    HokusaiError,
    InvalidRequestError,
    NotFoundError,
    RateLimitError,
    ServiceUnavailableError,
)
from hokusai._vocabulary import ErrorCode
from hokusai.cli import _output as output

EXIT_CODES: dict[type[HokusaiError], int] = {
    InvalidRequestError: 2,
    ConfigurationError: 3,
    AuthenticationError: 4,
    AuthorizationError: 4,
    NotFoundError: 5,
    ConflictError: 6,
    RateLimitError: 7,
    ServiceUnavailableError: 8,
}
REFUSED = 1

# The service's field names -> the flags that set them, so a refusal names what the user typed.
FLAGS = {
    "name": "--name",
    "service_id": "--service",
    "scopes": "--scope",
    "environment": "--environment",
    "expires_in_days": "--expires-in-days",
    "rate_limit_per_hour": "--rate-limit",
    "burst": "--burst",
    "monthly_prediction_limit": "--monthly-prediction-limit",
    "allowed_ips": "--allowed-ip",
    "billing_plan": "--billing-plan",
    "user_id": "--user-id",
    "grace_period_seconds": "--grace-period",
    "limit": "--limit",
    "reason": "--reason",
    "status": "--status",
    "role": "--role",
    "email": "EMAIL",  # hokusai org invite ORG EMAIL
    "period": "--period",
}


def exit_code(error: HokusaiError) -> int:
    for cls in type(error).__mro__:
        if cls in EXIT_CODES:
            return EXIT_CODES[cls]
    return REFUSED


def describe(error: HokusaiError) -> str:
    """The service's message plus what to do about it."""
    message = error.message
    if isinstance(error, AuthenticationError) and error.code == ErrorCode.UNAUTHORIZED:
        return f"{message}: check HOKUSAI_ADMIN_TOKEN or run `hokusai auth login --admin-token`"
    if isinstance(error, RateLimitError) and error.retry_after is not None:
        return f"{message}: retry in {error.retry_after:g} s"
    if isinstance(error, InvalidRequestError) and error.field and error.field.split(".")[0] in FLAGS:
        return f"{FLAGS[error.field.split('.')[0]]}: {message.split(': ', 1)[-1]}"
    if isinstance(error, ServiceUnavailableError):
        hint = f" (retry in {error.retry_after:g} s)" if error.retry_after else ""
        return f"{message}{hint}; is the service running, and is the URL right? (--url or HOKUSAI_AUTH_SERVICE_URL)"
    return message


def fail(message: str, code: int) -> typer.Exit:
    output.error(message)
    return typer.Exit(code)


@contextmanager
def reported() -> Iterator[None]:
    """Run a command body; turn any failure into a one-line message and its exit code."""
    try:
        yield
    except HokusaiError as error:
        raise fail(describe(error), exit_code(error)) from None
    except (typer.Exit, typer.Abort, KeyboardInterrupt):
        raise
    except Exception as error:  # a bug of ours: still one line, with a way to see more
        if os.environ.get("HOKUSAI_DEBUG"):
            raise
        raise fail(
            f"unexpected {type(error).__name__}: {error} (set HOKUSAI_DEBUG=1 for the traceback)", REFUSED
        ) from None
