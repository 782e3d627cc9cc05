"""The Hokusai SDK: API keys, the auth service's clients and, with ``hokusai[mlflow]``, the model registry.

    from hokusai import setup
    setup(api_key="hk_live_...")            # or HOKUSAI_API_KEY, or `hokusai auth login`

This package imports only light dependencies (httpx, typer, rich); the auth service (``hokusai_auth``) and
MLflow are never imported by it.
"""

from __future__ import annotations

from hokusai._version import __version__
from hokusai.config import Config, configure, resolve
from hokusai.errors import (
    AuthenticationError,
    AuthorizationError,
    ConfigurationError,
    ConflictError,
    HokusaiError,
    InvalidRequestError,
    NotFoundError,
    RateLimitError,
    ServiceUnavailableError,
    error_for,
)
from hokusai.keys import check_format

__all__ = [
    "AuthenticationError",
    "AuthorizationError",
    "Config",
    "ConfigurationError",
    "ConflictError",
    "HokusaiError",
    "InvalidRequestError",
    "NotFoundError",
    "RateLimitError",
    "ServiceUnavailableError",
    "__version__",
    "check_format",
    "configure",
    "current_config",
    "setup",
]


def setup(
    api_key: str | None = None,
    api_endpoint: str | None = None,
    auth_service_url: str | None = None,
    validate_with_auth_service: bool = False,
) -> Config:
    """Configure the SDK for this process and return the settings in effect.

    Each argument left as ``None`` comes from the environment (``HOKUSAI_API_KEY``, ``HOKUSAI_API_ENDPOINT``,
    ``HOKUSAI_AUTH_SERVICE_URL``) or the selected profile of ``~/.hokusai/config``. A key that is not a
    well-formed Hokusai key is refused here, offline. With ``validate_with_auth_service=True`` the key is also
    checked by the auth service, and a refused key raises the matching error (``AuthenticationError`` ...).
    """
    given = {"api_key": api_key, "api_endpoint": api_endpoint, "auth_service_url": auth_service_url}
    # Checked before anything is remembered, so a refused call changes nothing.
    config = resolve(api_key=api_key, api_endpoint=api_endpoint, auth_service_url=auth_service_url)
    if config.api_key is not None:
        fmt = check_format(config.api_key)
        if not fmt.valid:
            raise ConfigurationError(f"the API key from {config.source('api_key')} is unusable: {fmt.problem}")
    if validate_with_auth_service:
        _validate_remotely(config)
    configure(**{name: value for name, value in given.items() if value is not None})
    return config


def current_config(profile: str | None = None) -> Config:
    """The settings in effect now (what ``setup()`` would return without arguments)."""
    return resolve(profile)


def _validate_remotely(config: Config) -> None:
    from hokusai.client import AuthClient

    key = config.require("api_key")
    with AuthClient(config=config) as client:
        result = client.validate_key(key)
    if not result.is_valid:
        body = {"detail": result.detail or result.error or "API key refused", "code": result.code}
        raise error_for(result.status, body, retry_after=result.retry_after)
