"""Typed answers of the auth service, as plain frozen dataclasses (no pydantic: the SDK stays light).

Decoding ignores fields it does not know, so a newer service never breaks an older SDK, and turns RFC 3339
strings into aware datetimes. The secrets an answer can hold (a new key, a session's tokens) are kept out of
``repr``.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import types
import typing
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import cache
from typing import Any, Generic, TypeVar, Union

from hokusai._errors import HokusaiError

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class APIKeyInfo:
    key_id: str
    name: str
    key_prefix: str
    user_id: str
    service_id: str
    environment: str
    is_active: bool
    rate_limit_per_hour: int
    billing_plan: str
    created_at: datetime
    scopes: list[str] = field(default_factory=list)
    organization_id: str | None = None
    burst: int | None = None
    monthly_prediction_limit: int | None = None
    allowed_ips: list[str] | None = None
    expires_at: datetime | None = None
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None
    rotated_from: str | None = None
    rotated_to: str | None = None


@dataclass(frozen=True, slots=True)
class CreatedKey:
    """A new key. ``api_key`` is shown this once by the service; store it now."""

    api_key: str = field(repr=False)
    key_id: str
    key_info: APIKeyInfo
    warning: str = "Store this API key now: it is shown only once and cannot be recovered."


@dataclass(frozen=True, slots=True)
class RateLimitStatus:
    """The key's rate-limit position, from the X-RateLimit-* headers."""

    limit: int
    remaining: int
    reset_after_s: int


@dataclass(frozen=True, slots=True)
class ValidationResult:
    """The service's verdict on a key. Only ``is_valid`` means valid; otherwise ``code`` says why."""

    is_valid: bool
    status: int = 200
    code: str | None = None
    error: str | None = None
    detail: str | None = None
    key_id: str | None = None
    user_id: str | None = None
    organization_id: str | None = None
    service_id: str | None = None
    scopes: list[str] = field(default_factory=list)
    environment: str | None = None
    rate_limit_per_hour: int | None = None
    rate_limit_remaining: int | None = None
    billing_plan: str | None = None
    monthly_prediction_limit: int | None = None
    expires_at: datetime | None = None
    required_scope: str | None = None
    retry_after: float | None = None
    rate_limit: RateLimitStatus | None = None
    checked_offline: bool = False  # refused by the format check, without asking the service

    def __bool__(self) -> bool:
        return self.is_valid


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a listing; pass ``next_cursor`` back as ``cursor`` for the next (None: this was the last)."""

    items: list[T]
    next_cursor: str | None = None


@dataclass(frozen=True, slots=True)
class EndpointCount:
    endpoint: str
    count: int


@dataclass(frozen=True, slots=True)
class UsageStats:
    key_id: str
    period: str
    total_requests: int
    total_predictions: int
    total_compute_ms: int
    average_response_time_ms: float
    p95_response_time_ms: int
    error_rate: float
    top_endpoints: list[EndpointCount] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class CurrentUsage:
    requests: int
    predictions: int
    compute_ms: int


@dataclass(frozen=True, slots=True)
class BillingInfo:
    key_id: str
    billing_plan: str
    current_usage: CurrentUsage
    next_billing_date: datetime
    overage_charges: float
    monthly_limit: int | None = None
    period: str | None = None
    included_predictions: int | None = None
    overage_charges_micros: int | None = None


@dataclass(frozen=True, slots=True)
class ServiceDay:
    requests: int
    predictions: int
    compute_ms: int
    avg_response_time_ms: float


@dataclass(frozen=True, slots=True)
class UsageAggregate:
    start_date: date
    end_date: date
    usage_by_date: dict[str, dict[str, ServiceDay]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class AuditEvent:
    id: str
    occurred_at: datetime
    actor: str
    action: str
    outcome: str
    actor_type: str | None = None  # admin, user, service or system (derived from actor)
    actor_id: str | None = None
    target_type: str | None = None
    target_id: str | None = None
    organization_id: str | None = None
    client_ip: str | None = None
    user_agent: str | None = None
    request_id: str | None = None
    details: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class Readiness:
    ready: bool
    checks: dict[str, bool] = field(default_factory=dict)


# ------------------------------------------------------------------------------------------------ users, sessions


@dataclass(frozen=True, slots=True)
class SiweChallenge:
    """What to sign: ``message`` is a complete EIP-4361 message, to be signed byte for byte (personal_sign)."""

    message: str
    nonce: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class DeviceSignIn:
    """A device sign-in started (RFC 8628): show ``user_code`` and ``verification_uri_complete`` to the person, then
    poll with ``device_code`` (the secret; not in ``repr``) every ``interval`` seconds until ``expires_in`` runs out.
    """

    device_code: str = field(repr=False)
    user_code: str  # XXXX-XXXX
    verification_uri: str
    verification_uri_complete: str
    expires_in: int
    interval: int


@dataclass(frozen=True, slots=True)
class DeviceSignInPending:
    """A poll before the sign-in was approved: ``code`` is ``authorization_pending``, or ``slow_down`` (polled too
    soon). Wait ``interval`` seconds (it grows after a ``slow_down``) and poll again."""

    code: str
    interval: int
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Session:
    """A signed-in session: a short-lived access token and the refresh token that renews it.

    The refresh token is single-use: each refresh answers a new pair, and presenting a spent refresh token ends
    the session (both copies). Keep only the newest pair. Neither token is in ``repr``."""

    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    user_id: str
    wallet_address: str | None = None
    expires_in: int = 0  # seconds the access token lived when it was issued
    token_type: str = "bearer"  # noqa: S105 - the OAuth token type, not a secret
    is_new_user: bool = False
    # When the access token expires, by this machine's clock (set by the SDK from expires_in; None: unknown).
    expires_at: datetime | None = None

    @property
    def session_id(self) -> str | None:
        """The session's id (the access token's ``sid`` claim, read without verifying the token)."""
        sid = self.claim("sid")
        return sid if isinstance(sid, str) else None

    def claim(self, name: str) -> Any:
        """A claim of the access token, read without verifying it (for scheduling, never for trust)."""
        return _unverified_claims(self.access_token).get(name)

    def expired(self, now: datetime | None = None) -> bool:
        """Whether the access token has expired by this machine's clock (False when the expiry is unknown)."""
        return self.expires_at is not None and (now or datetime.now(UTC)) >= self.expires_at


def _unverified_claims(token: str) -> dict[str, Any]:
    parts = token.split(".")
    if len(parts) != 3:
        return {}
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except ValueError:
        return {}
    return claims if isinstance(claims, dict) else {}


@dataclass(frozen=True, slots=True)
class UserInfo:
    id: str
    is_active: bool
    created_at: datetime
    wallet_address: str | None = None
    email: str | None = None
    display_name: str | None = None
    last_login_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class SessionInfo:
    """One of the signed-in user's open sessions; ``current`` marks the one asking."""

    session_id: str
    created_at: datetime
    expires_at: datetime  # when it ends unless it is refreshed before
    current: bool = False
    last_refreshed_at: datetime | None = None
    client_ip: str | None = None
    user_agent: str | None = None


@dataclass(frozen=True, slots=True)
class TokenValidation:
    """The service's verdict on an access token, revocations included. Only ``valid`` means valid; otherwise
    ``code`` says why (``token_expired``, ``session_revoked``, ``user_disabled``, ``invalid_token`` ...)."""

    valid: bool
    status: int = 200
    code: str | None = None
    error: str | None = None
    detail: str | None = None
    user_id: str | None = None
    wallet_address: str | None = None
    session_id: str | None = None
    expires_at: datetime | None = None
    permissions: list[str] = field(default_factory=list)
    organization_ids: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return self.valid


# ------------------------------------------------------------------------------------------------ registration


@dataclass(frozen=True, slots=True)
class Registration:
    """A company's registration. ``register`` answers the first six fields (the same answer whether or not the
    address was registered before); operators see them all."""

    id: str
    organization_name: str
    contact_email: str
    contact_name: str
    status: str  # pending_email_verification, pending_approval, approved or rejected
    created_at: datetime
    use_case: str | None = None
    website_url: str | None = None
    updated_at: datetime | None = None
    email_verified_at: datetime | None = None
    decided_at: datetime | None = None
    decided_by: str | None = None
    rejection_reason: str | None = None
    organization_id: str | None = None


@dataclass(frozen=True, slots=True)
class RegistrationState:
    """Where the registration made with an address is (``registration_status``)."""

    status: str
    created_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class ClaimedOrganization:
    """A claimed organization: the caller is its Owner, and ``api_key`` (its first production key) is shown this
    once; store it now."""

    api_key: str = field(repr=False)
    key_id: str
    key_info: APIKeyInfo
    organization_id: str
    warning: str = "Store this API key now: it is shown only once and cannot be recovered."


# ------------------------------------------------------------------------------------------------ organizations

ROLES: tuple[str, ...] = ("owner", "admin", "developer", "viewer")
"""An organization member's roles, highest first (an Owner may do everything an Admin may, and so on)."""


@dataclass(frozen=True, slots=True)
class Organization:
    """An organization, as one of its members sees it: ``role`` is the caller's."""

    id: str
    name: str
    created_at: datetime
    billing_plan: str
    role: str  # owner, admin, developer or viewer


@dataclass(frozen=True, slots=True)
class OrganizationMember:
    user_id: str
    role: str
    joined_at: datetime
    wallet_address: str | None = None
    email: str | None = None
    display_name: str | None = None
    invited_by: str | None = None  # None for the member who created the organization


@dataclass(frozen=True, slots=True)
class Invitation:
    """A pending invitation. Its token is only in the mail sent to ``email``; accepting it makes the signed-in
    user a member with ``role``."""

    id: str
    organization_id: str
    email: str
    role: str
    invited_by: str
    created_at: datetime
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class CreatedOrganizationKey:
    """A new key of an organization, billed on its plan. ``api_key`` is shown this once by the service; store it
    now."""

    api_key: str = field(repr=False)
    key_id: str
    key_info: APIKeyInfo
    organization_id: str
    warning: str = "Store this API key now: it is shown only once and cannot be recovered."


@dataclass(frozen=True, slots=True)
class KeyUsage:
    """One key's share of an organization's usage in a month."""

    key_id: str
    name: str
    key_prefix: str
    requests: int
    predictions: int
    compute_ms: int


@dataclass(frozen=True, slots=True)
class OrganizationUsage:
    """An organization's usage and billing in one month (``period``, YYYY-MM, UTC): the sum over its keys, those
    revoked since included, billed as one account on its plan."""

    organization_id: str
    period: str
    billing_plan: str
    total_requests: int
    total_predictions: int
    total_compute_ms: int
    average_response_time_ms: float
    error_rate: float  # share of requests answered with status >= 400, 0..1
    included_predictions: int
    overage_charges: float  # US dollars
    overage_charges_micros: int
    keys: list[KeyUsage] = field(default_factory=list)  # busiest first


# ------------------------------------------------------------------------------------------------ decoding


class DecodeError(HokusaiError):
    """The service answered something this SDK cannot read (a proxy's HTML page, an incompatible version)."""


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def decode(cls: type[T], data: Any) -> T:
    """Build ``cls`` (a dataclass above) from JSON data."""
    try:
        return typing.cast(T, _convert(cls, data, cls.__name__))
    except (TypeError, ValueError, KeyError) as exc:
        raise DecodeError(f"unexpected answer from the service ({exc})") from None


def _convert(kind: Any, value: Any, where: str) -> Any:
    origin = typing.get_origin(kind)
    if origin in (Union, types.UnionType):
        if value is None:
            return None
        options = [arg for arg in typing.get_args(kind) if arg is not type(None)]
        return _convert(options[0], value, where)
    if origin is list:
        (item,) = typing.get_args(kind)
        return [_convert(item, element, where) for element in _expect(list, value, where)]
    if origin is dict:
        _, item = typing.get_args(kind)
        return {str(k): _convert(item, v, where) for k, v in _expect(dict, value, where).items()}
    if dataclasses.is_dataclass(kind) and isinstance(kind, type):
        data = _expect(dict, value, where)
        hints = _hints(kind)
        fields = (f.name for f in dataclasses.fields(kind) if f.name in data)
        return kind(**{name: _convert(hints[name], data[name], f"{where}.{name}") for name in fields})
    return _scalar(kind, value, where)


def _scalar(kind: Any, value: Any, where: str) -> Any:
    if kind is datetime:
        return datetime.fromisoformat(_expect(str, value, where))
    if kind is date:
        return date.fromisoformat(_expect(str, value, where))
    if kind in (int, float):
        # bool is an int to Python, never to JSON schemas; a float field accepts an integer.
        if isinstance(value, bool) or not isinstance(value, int if kind is int else int | float):
            raise TypeError(f"{where}: expected {'an integer' if kind is int else 'a number'}")
        return kind(value)
    if kind in (str, bool):
        return _expect(kind, value, where)
    if kind is Any:
        return value
    raise TypeError(f"{where}: cannot decode {kind!r}")


def _expect(kind: type[T], value: Any, where: str) -> T:
    if not isinstance(value, kind):
        raise TypeError(f"{where}: expected {kind.__name__}, got {type(value).__name__}")
    return value
