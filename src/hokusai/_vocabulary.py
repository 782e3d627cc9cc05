"""The Hokusai vocabulary: every name the auth service, the gateway, the SDK and the CLI must agree on, defined once.

Failure codes (with their status and public text), environments and their key tags, billing plans, services and
their aliases, the gateway's scopes and where the gateway mounts MLflow and the prediction API. Everything else
imports from here or derives from it (pydantic fields, CHECK constraints, OpenAPI enums, CLI help, the SDK's error
classes), and ``tests/unit/test_vocabulary.py`` fails if any of these strings is written anywhere else in ``src``.
Pure and dependency-free: the SDK imports it without any server dependency.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import Enum, StrEnum
from types import MappingProxyType

# ------------------------------------------------------------------------------------------------ failures


class FailureKind(Enum):
    """What a refused key means to its holder; the gateway answers a status per kind, the SDK raises a class."""

    CREDENTIAL = "credential"  # no key, or a key that cannot be used at all: fix or replace it
    PERMISSION = "permission"  # a usable key that may not do this (service, environment, address, scope)
    LIMIT = "limit"  # wait: rate limit or monthly quota
    UNAVAILABLE = "unavailable"  # retry: a dependency of the decision is down; says nothing about the key


class Failure(StrEnum):
    """Why a key was refused: the ``code`` of the validate endpoint, the embedded validator and the gateway."""

    MISSING = "missing_api_key"
    INVALID = "invalid_api_key"
    EXPIRED = "expired"
    REVOKED = "revoked"
    WRONG_SERVICE = "wrong_service"
    ENVIRONMENT_MISMATCH = "environment_mismatch"
    IP_NOT_ALLOWED = "ip_not_allowed"
    INSUFFICIENT_SCOPE = "insufficient_scope"
    USER_DISABLED = "user_disabled"
    RATE_LIMITED = "rate_limited"
    QUOTA_EXCEEDED = "quota_exceeded"
    UNAVAILABLE = "service_unavailable"

    @property
    def status(self) -> int:
        """The validate endpoint's status (the gateway answers by ``kind`` instead)."""
        return _FAILURES[self][0]

    @property
    def error(self) -> str:
        """The contract's exact public ``error`` string."""
        return _FAILURES[self][1]

    @property
    def kind(self) -> FailureKind:
        return _FAILURES[self][2]


_FAILURES: Mapping[Failure, tuple[int, str, FailureKind]] = MappingProxyType({
    Failure.MISSING: (401, "API key required", FailureKind.CREDENTIAL),
    Failure.INVALID: (401, "Invalid API key", FailureKind.CREDENTIAL),
    Failure.EXPIRED: (401, "API key has expired", FailureKind.CREDENTIAL),
    Failure.REVOKED: (401, "API key is inactive or has been revoked", FailureKind.CREDENTIAL),
    Failure.WRONG_SERVICE: (401, "Key not authorized for this service", FailureKind.PERMISSION),
    Failure.ENVIRONMENT_MISMATCH: (401, "API key environment mismatch", FailureKind.PERMISSION),
    Failure.IP_NOT_ALLOWED: (401, "IP address not in allowlist", FailureKind.PERMISSION),
    Failure.INSUFFICIENT_SCOPE: (401, "Key does not have required scope", FailureKind.PERMISSION),
    Failure.USER_DISABLED: (401, "API key owner is disabled", FailureKind.CREDENTIAL),
    Failure.RATE_LIMITED: (429, "Rate limit exceeded", FailureKind.LIMIT),
    Failure.QUOTA_EXCEEDED: (429, "Monthly prediction limit exceeded", FailureKind.LIMIT),
    # Never a 401: an outage of a dependency says nothing about the key.
    Failure.UNAVAILABLE: (503, "Service temporarily unavailable", FailureKind.UNAVAILABLE),
})  # fmt: skip


class ErrorCode(StrEnum):
    """Every other ``code`` the service and the gateway answer with (docs/troubleshooting.md lists them all)."""

    UNAUTHORIZED = "unauthorized"  # admin or service credential missing or wrong
    FORBIDDEN = "forbidden"
    NOT_FOUND = "not_found"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    REQUEST_TIMEOUT = "request_timeout"
    PAYLOAD_TOO_LARGE = "payload_too_large"
    HEADERS_TOO_LARGE = "request_header_fields_too_large"
    VALIDATION_ERROR = "validation_error"  # a request field, named in ``errors``
    INVALID_REQUEST = "invalid_request"  # a request the edge refuses before any route (NUL characters, ...)
    DUPLICATE_CREDENTIAL = "duplicate_credential"
    TOO_MANY_FAILED_ATTEMPTS = "too_many_failed_attempts"  # an address that keeps presenting refused tokens
    INVALID_PATH = "invalid_path"
    ALREADY_ROTATED = "already_rotated"
    KEY_REVOKED = "key_revoked"
    KEY_EXPIRED = "key_expired"
    HTTP_ERROR = "http_error"  # any other status the web framework raised
    INTERNAL_ERROR = "internal_error"
    UPSTREAM_UNREACHABLE = "upstream_unreachable"  # the gateway's MLflow or prediction API is down
    UPSTREAM_TIMEOUT = "upstream_timeout"
    KEY_LIMIT_REACHED = "key_limit_reached"  # a user already owns MAX_KEYS_PER_USER active keys
    # Wallet sign-in (SIWE): every refusal of /auth/siwe/verify is a 401 with one of these.
    INVALID_MESSAGE = "invalid_message"
    INVALID_SIGNATURE = "invalid_signature"
    INVALID_NONCE = "invalid_nonce"
    DOMAIN_MISMATCH = "domain_mismatch"
    CHAIN_NOT_ALLOWED = "chain_not_allowed"
    MESSAGE_EXPIRED = "message_expired"
    # Sessions
    INVALID_REFRESH_TOKEN = "invalid_refresh_token"  # noqa: S105 - a code, not a secret
    REFRESH_TOKEN_REUSED = "refresh_token_reused"  # noqa: S105 - a spent refresh token: its session ends
    # Registration and the claim link (a bad, used or expired mailed token is TokenFailure.INVALID with a 400)
    NOT_PENDING_APPROVAL = "not_pending_approval"  # a registration is decided once, after its email is verified
    CLAIMED = "claimed"  # 410: an organization's claim link was already used
    # Organizations
    INSUFFICIENT_ROLE = "insufficient_role"  # 403: a member below the endpoint's minimum role
    LAST_OWNER = "last_owner"  # 409: the last Owner can neither leave nor be demoted
    ALREADY_MEMBER = "already_member"  # 409: an invitation for someone already in the organization
    INVITATION_FOR_ANOTHER_USER = "invitation_for_another_user"  # 403: another user verified the invited address
    # Device sign-in (RFC 8628, `hokusai auth login --web`): POST /auth/device/token answers 400 with one of the
    # first four (as ``error`` and ``code``) until it answers a session; DEVICE_SIGN_IN_WAITS mean "poll again".
    AUTHORIZATION_PENDING = "authorization_pending"  # nobody has approved or denied the code yet
    SLOW_DOWN = "slow_down"  # polled sooner than ``interval`` after the last poll; the interval grows by 5 s
    ACCESS_DENIED = "access_denied"  # the signed-in user denied the request (or was disabled since approving)
    EXPIRED_TOKEN = "expired_token"  # noqa: S105 - a code: the device code is unknown, expired or already used
    INVALID_USER_CODE = "invalid_user_code"  # 400 to approve/deny: no request waits with this user code


DEVICE_SIGN_IN_WAITS = frozenset({ErrorCode.AUTHORIZATION_PENDING, ErrorCode.SLOW_DOWN})
DEVICE_CODE_GRANT_TYPE = "urn:ietf:params:oauth:grant-type:device_code"  # RFC 8628 §3.4


class TokenFailure(StrEnum):
    """Why an access token (JWT) was refused: the ``code`` of /api/v1/tokens/validate and of bearer-token routes."""

    MISSING = "missing_token"
    INVALID = "invalid_token"
    EXPIRED = "token_expired"
    SESSION_REVOKED = "session_revoked"
    USER_DISABLED = "user_disabled"

    @property
    def error(self) -> str:
        """The public ``error`` string (always with status 401)."""
        return _TOKEN_FAILURES[self]


_TOKEN_FAILURES: Mapping[TokenFailure, str] = MappingProxyType({
    TokenFailure.MISSING: "Token required",
    TokenFailure.INVALID: "Invalid token",
    TokenFailure.EXPIRED: "Token has expired",
    TokenFailure.SESSION_REVOKED: "Session has been revoked",
    TokenFailure.USER_DISABLED: "User is disabled",
})  # fmt: skip


# What the gateway puts in MLflow's ``error_code`` for each status it answers, so MLflow clients print a reason
# (the SDK reads them back from MLflow's exceptions).
GATEWAY_MLFLOW_ERROR_CODES: Mapping[int, str] = MappingProxyType({
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    429: "RESOURCE_EXHAUSTED",
    502: "BAD_GATEWAY",  # not one of MLflow's codes: MLflow has none for these two
    503: "TEMPORARILY_UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
})  # fmt: skip

# ------------------------------------------------------------------------------------------------ keys


class Environment(StrEnum):
    PRODUCTION = "production"
    TEST = "test"
    DEVELOPMENT = "development"


# The tag in a key's prefix: hk_live_..., hk_test_..., hk_dev_...
KEY_TAGS: Mapping[Environment, str] = MappingProxyType({
    Environment.PRODUCTION: "live",
    Environment.TEST: "test",
    Environment.DEVELOPMENT: "dev",
})  # fmt: skip
TAG_ENVIRONMENTS: Mapping[str, Environment] = MappingProxyType({tag: env for env, tag in KEY_TAGS.items()})
# What the validate endpoint also accepts for ``environment``: the key tags and "prod".
ENVIRONMENT_ALIASES: Mapping[str, Environment] = MappingProxyType({**TAG_ENVIRONMENTS, "prod": Environment.PRODUCTION})


class Plan(StrEnum):
    """Billing plans: each includes a number of predictions per month, and predictions beyond it cost extra."""

    FREE = "free"
    STARTER = "starter"
    PRO = "pro"
    ENTERPRISE = "enterprise"


class Service(StrEnum):
    PREDICTION = "prediction"
    PLATFORM = "platform"


# Historic names accepted everywhere a service id is; answers always show the canonical id.
SERVICE_ALIASES: Mapping[str, Service] = MappingProxyType({
    "website": Service.PLATFORM,
    "ml-platform": Service.PLATFORM,
    "prediction-api": Service.PREDICTION,
})  # fmt: skip
_SERVICE_IDS = frozenset(Service)


def canonical_service(service_id: str) -> Service | None:
    """The canonical id for a service id or alias (case-insensitive), or None if it is not one."""
    normalized = service_id.strip().lower()
    if normalized in _SERVICE_IDS:
        return Service(normalized)
    return SERVICE_ALIASES.get(normalized)


def describe_services() -> str:
    """Human list of the valid ids, for messages: 'prediction, platform (aliases: website → platform, ...)'."""
    aliases = ", ".join(f"{alias} → {target}" for alias, target in SERVICE_ALIASES.items())
    return f"{', '.join(Service)} (aliases: {aliases})"


def choices(values: Iterable[str]) -> str:
    """'production, test or development': an enumeration (``choices(Environment)``) for help texts and messages."""
    names = [str(value) for value in values]
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"


# ------------------------------------------------------------------------------------------------ registration


class RegistrationStatus(StrEnum):
    """Where a company's registration is: it verifies its email, then an operator approves or rejects it."""

    PENDING_EMAIL_VERIFICATION = "pending_email_verification"
    PENDING_APPROVAL = "pending_approval"
    APPROVED = "approved"
    REJECTED = "rejected"


# ------------------------------------------------------------------------------------------------ the gateway

# Scopes the gateway asks of a key (a key with no scopes has them all). Writing to MLflow needs one of the write
# scopes; reading needs any MLflow scope; the prediction API needs ``predict``.
MLFLOW_WRITE_SCOPES: tuple[str, ...] = ("mlflow:write", "model:write")
MLFLOW_READ_SCOPES: tuple[str, ...] = ("read", "mlflow:read", "model:read", *MLFLOW_WRITE_SCOPES)
PREDICT_SCOPES: tuple[str, ...] = ("predict",)

# Where the gateway serves MLflow: at MLflow's own API paths, and under these mounts (longest first), of which
# MLFLOW_MOUNT is the one the SDK appends to an API endpoint.
MLFLOW_API_PREFIXES: tuple[str, ...] = (
    "/api/2.0/mlflow/",
    "/ajax-api/2.0/mlflow/",
    "/api/2.0/mlflow-artifacts/",
    "/ajax-api/2.0/mlflow-artifacts/",
    "/api/3.0/mlflow/",
    "/ajax-api/3.0/mlflow/",
)
MLFLOW_MOUNT = "/mlflow"
MLFLOW_MOUNTS: tuple[str, ...] = ("/api/mlflow", MLFLOW_MOUNT)
PREDICTION_MOUNT = "/prediction"
