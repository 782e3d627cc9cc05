"""The Hokusai SDK: API keys, the auth service's clients and, with the ``[mlflow]`` extra, the model registry.

    from hokusai import setup
    setup(api_key="hk_live_...")            # or HOKUSAI_API_KEY, or `hokusai auth login`

This package imports only light dependencies (httpx, typer, rich); the auth service (``hokusai_auth``), MLflow
and eth-account (the ``[wallet]`` extra, for ``sign_in_with_keystore``) are never imported by it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hokusai._config import Config, configure, resolve
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
    error_for,
)
from hokusai._keys import KeyFormat, check_format
from hokusai._version import __version__

if TYPE_CHECKING:
    from hokusai._client import AsyncAuthClient, AuthClient
    from hokusai._models import (
        APIKeyInfo,
        AuditEvent,
        BillingInfo,
        ClaimedOrganization,
        CreatedKey,
        CreatedOrganizationKey,
        DecodeError,
        DeviceSignIn,
        DeviceSignInPending,
        Invitation,
        KeyUsage,
        Organization,
        OrganizationMember,
        OrganizationUsage,
        Page,
        Readiness,
        Registration,
        RegistrationState,
        Session,
        SessionInfo,
        SiweChallenge,
        TokenValidation,
        UsageAggregate,
        UsageStats,
        UserInfo,
        ValidationResult,
    )
    from hokusai._session import SessionStore
    from hokusai._transport import RetryPolicy
    from hokusai._wallet import KeystoreWallet, async_sign_in_with_keystore, load_keystore, sign_in_with_keystore

__all__ = [
    "APIKeyInfo",
    "AsyncAuthClient",
    "AuditEvent",
    "AuthClient",
    "AuthenticationError",
    "AuthorizationError",
    "BillingInfo",
    "ClaimedOrganization",
    "Config",
    "ConfigurationError",
    "ConflictError",
    "CreatedKey",
    "CreatedOrganizationKey",
    "DecodeError",
    "DeviceSignIn",
    "DeviceSignInPending",
    "HokusaiError",
    "InvalidRequestError",
    "Invitation",
    "KeyFormat",
    "KeyUsage",
    "KeystoreWallet",
    "NotFoundError",
    "Organization",
    "OrganizationMember",
    "OrganizationUsage",
    "Page",
    "RateLimitError",
    "Readiness",
    "Registration",
    "RegistrationState",
    "RetryPolicy",
    "ServiceUnavailableError",
    "Session",
    "SessionInfo",
    "SessionStore",
    "SiweChallenge",
    "TokenValidation",
    "UsageAggregate",
    "UsageStats",
    "UserInfo",
    "ValidationResult",
    "__version__",
    "async_sign_in_with_keystore",
    "check_format",
    "configure",
    "current_config",
    "load_keystore",
    "setup",
    "sign_in_with_keystore",
]

# The clients and their answers pull in httpx; they are loaded on first use, so `import hokusai` (and the auth
# service, which shares the key format) stays light.
_LAZY = {
    "AuthClient": "hokusai._client",
    "AsyncAuthClient": "hokusai._client",
    "RetryPolicy": "hokusai._transport",
    "SessionStore": "hokusai._session",
    **dict.fromkeys(
        (
            *("APIKeyInfo", "AuditEvent", "BillingInfo", "CreatedKey", "DecodeError", "Page", "Readiness"),
            *("UsageAggregate", "UsageStats", "ValidationResult"),
            *("Session", "SessionInfo", "SiweChallenge", "TokenValidation", "UserInfo"),
            *("DeviceSignIn", "DeviceSignInPending"),
            *("ClaimedOrganization", "Registration", "RegistrationState"),
            *("CreatedOrganizationKey", "Invitation", "KeyUsage", "Organization", "OrganizationMember"),
            *("OrganizationUsage",),
        ),
        "hokusai._models",
    ),
    # The [wallet] extra's eth-account is imported only when a keystore is used, not by these names.
    **dict.fromkeys(
        ("KeystoreWallet", "async_sign_in_with_keystore", "load_keystore", "sign_in_with_keystore"), "hokusai._wallet"
    ),
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'hokusai' has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(module), name)
    globals()[name] = value  # once: later lookups do not come back here
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


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
    from hokusai._client import AuthClient

    key = config.require("api_key")
    with AuthClient(config=config) as client:
        result = client.validate_key(key)
    if not result.is_valid:
        body = {"detail": result.detail or result.error or "API key refused", "code": result.code}
        raise error_for(result.status, body, retry_after=result.retry_after)
