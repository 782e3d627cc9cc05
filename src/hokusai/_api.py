"""Every endpoint of the auth service, once: each function takes the endpoint's inputs and returns a ``Call``.

``AuthClient`` and ``AsyncAuthClient`` expose these functions as their methods (see client.py), so the two share
one definition of paths, bodies, credentials, retry safety and parsing. Fields left as ``None`` (or ``UNSET``
for updates) are not sent, so the service's documented defaults apply.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, timedelta
from enum import Enum
from typing import Any, Final, TypeVar

from hokusai._errors import InvalidRequestError, error_for, parse_retry_after
from hokusai._keys import check_format
from hokusai._models import (
    APIKeyInfo,
    AuditEvent,
    BillingInfo,
    ClaimedOrganization,
    CreatedKey,
    CreatedOrganizationKey,
    DeviceSignIn,
    DeviceSignInPending,
    Invitation,
    Organization,
    OrganizationMember,
    OrganizationUsage,
    Page,
    RateLimitStatus,
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
    decode,
)
from hokusai._transport import CURRENT_SESSION, Answer, Call, path
from hokusai._vocabulary import (
    DEVICE_CODE_GRANT_TYPE,
    DEVICE_SIGN_IN_WAITS,
    Failure,
    RegistrationStatus,
    TokenFailure,
)

T = TypeVar("T")
KEYS = "/api/v1/keys"
USERS = "/api/v1/admin/users"
REGISTRATIONS = "/api/v1/admin/registrations"
ORGANIZATIONS = "/api/v1/organizations"
ORGANIZATION = ORGANIZATIONS + "/{}"
# The key endpoints take the admin token (every key) or a signed-in user's access token (their own keys).
KEY_MANAGER: Final = "admin_or_user"


class _Unset(Enum):
    UNSET = "UNSET"

    def __repr__(self) -> str:
        return "UNSET"


UNSET: Final = _Unset.UNSET
"""For ``update_key``: leave this field as it is (``None`` clears it where the service allows)."""


def _body(**fields: Any) -> dict[str, Any]:
    return {name: value for name, value in fields.items() if value is not None and value is not UNSET}


def _one(cls: type[T]) -> Any:
    def parse(answer: Answer) -> T:
        return decode(cls, answer.body)

    return parse


def _page(cls: type[T]) -> Any:
    def parse(answer: Answer) -> Page[T]:
        items = answer.body if isinstance(answer.body, list) else None
        if items is None:
            items = decode(list[dict[str, Any]], answer.body)  # raises a DecodeError that says what came back
        return Page([decode(cls, item) for item in items], answer.headers.get("x-next-cursor"))

    return parse


def _message(answer: Answer) -> str:
    return str(answer.body.get("message", "")) if isinstance(answer.body, dict) else ""


def _list(values: Iterable[str] | None) -> list[str] | None:
    return None if values is None else list(values)


def _every(cls: type[T]) -> Any:
    def parse(answer: Answer) -> list[T]:
        return [decode(cls, item) for item in decode(list[dict[str, Any]], answer.body)]

    return parse


# ----------------------------------------------------------------------------------------------- API keys


def create_key(
    name: str,
    service_id: str,
    *,
    scopes: Iterable[str] | None = None,
    environment: str | None = None,
    expires_in_days: int | None = None,
    rate_limit_per_hour: int | None = None,
    burst: int | None = None,
    monthly_prediction_limit: int | None = None,
    allowed_ips: Iterable[str] | None = None,
    billing_plan: str | None = None,
    user_id: str | None = None,
) -> Call[CreatedKey]:
    """Create an API key (admin, or a user for themselves). The answer holds the key itself, shown this once."""
    body = _body(
        name=name,
        service_id=service_id,
        scopes=_list(scopes),
        environment=environment,
        expires_in_days=expires_in_days,
        rate_limit_per_hour=rate_limit_per_hour,
        burst=burst,
        monthly_prediction_limit=monthly_prediction_limit,
        allowed_ips=_list(allowed_ips),
        billing_plan=billing_plan,
        user_id=user_id,
    )
    # Never repeated after it may have reached the service: a retry could mint a second key.
    return Call("POST", KEYS, _one(CreatedKey), json=body, idempotent=False, credential=KEY_MANAGER)


def list_keys(
    *,
    service_id: str | None = None,
    user_id: str | None = None,
    active_only: bool = False,
    limit: int | None = None,
    cursor: str | None = None,
) -> Call[Page[APIKeyInfo]]:
    """One page of API keys, newest first (admin: every key; a user: their own)."""
    params: dict[str, Any] = {"service_id": service_id, "user_id": user_id, "active_only": active_only or None}
    params |= {"limit": limit, "cursor": cursor}
    return Call("GET", KEYS, _page(APIKeyInfo), params=params, credential=KEY_MANAGER)


def get_key(key_id: str) -> Call[APIKeyInfo]:
    """One API key's settings and state (admin, or its owner)."""
    return Call("GET", path(KEYS + "/{}", key_id), _one(APIKeyInfo), credential=KEY_MANAGER)


def update_key(
    key_id: str,
    *,
    name: str | _Unset = UNSET,
    scopes: Iterable[str] | _Unset = UNSET,
    rate_limit_per_hour: int | _Unset = UNSET,
    burst: int | _Unset | None = UNSET,
    monthly_prediction_limit: int | _Unset | None = UNSET,
    allowed_ips: Iterable[str] | _Unset | None = UNSET,
    billing_plan: str | _Unset = UNSET,
    expires_at: datetime | _Unset | None = UNSET,
    allow_expiry_extension: bool = False,
) -> Call[APIKeyInfo]:
    """Change a key's settings (admin); only the fields given change, ``None`` clears a field."""
    fields: dict[str, Any] = {
        "name": name,
        "scopes": scopes if isinstance(scopes, _Unset) else list(scopes),
        "rate_limit_per_hour": rate_limit_per_hour,
        "burst": burst,
        "monthly_prediction_limit": monthly_prediction_limit,
        "allowed_ips": allowed_ips if isinstance(allowed_ips, _Unset | None) else list(allowed_ips),
        "billing_plan": billing_plan,
        "expires_at": expires_at.isoformat() if isinstance(expires_at, datetime) else expires_at,
    }
    body = {name: value for name, value in fields.items() if value is not UNSET}
    if not body:
        raise InvalidRequestError("update_key: nothing to change; give at least one field")
    if allow_expiry_extension:
        body["allow_expiry_extension"] = True
    return Call("PATCH", path(KEYS + "/{}", key_id), _one(APIKeyInfo), json=body, credential=KEY_MANAGER)


def revoke_key(key_id: str) -> Call[str]:
    """Revoke a key at once and for good (admin); revoking twice is not an error."""
    return Call("DELETE", path(KEYS + "/{}", key_id), _message, credential=KEY_MANAGER)


def rotate_key(key_id: str, *, grace_period_seconds: int | None = None) -> Call[CreatedKey]:
    """Replace a key with a new one carrying the same settings (admin). The old one keeps working for
    ``grace_period_seconds`` (default 0: it stops when this returns). A key rotates once."""
    body = _body(grace_period_seconds=grace_period_seconds)
    return Call("POST", path(KEYS + "/{}/rotate", key_id), _one(CreatedKey), json=body or None, idempotent=False,
                credential=KEY_MANAGER)  # fmt: skip


# ----------------------------------------------------------------------------------------------- sign-in, sessions


def siwe_challenge(wallet_address: str, chain_id: int | None = None) -> Call[SiweChallenge]:
    """A sign-in message (EIP-4361) for this wallet to sign with personal_sign (public). Its nonce is single-use
    and expires after 5 minutes."""
    body = _body(wallet_address=wallet_address, chain_id=chain_id)
    return Call("POST", "/auth/siwe/challenge", _one(SiweChallenge), json=body, credential="none")


def siwe_verify(message: str, signature: str) -> Call[Session]:
    """Sign in with the challenge's message and the wallet's signature (0x-hex, 65 bytes): a new session, which
    the client then uses (public)."""
    body = {"message": message, "signature": signature}
    # Not repeated after it may have reached the service: the nonce is spent by the first try.
    return Call("POST", "/auth/siwe/verify", _session, json=body, credential="none", idempotent=False,
                adopts_session=True)  # fmt: skip


def refresh_session(refresh_token: str) -> Call[Session]:
    """A new access and refresh token for ``refresh_token``, which is spent by this (public). The client then uses
    the new session."""
    # Never repeated after it may have reached the service: a second use of the same refresh token ends the session.
    return Call("POST", "/auth/token/refresh", _session, json={"refresh_token": refresh_token}, credential="none",
                idempotent=False, adopts_session=True)  # fmt: skip


def _session(answer: Answer) -> Session:
    session = decode(Session, answer.body)
    # expires_in counts from a whole second (the token's iat), so it may be up to a second too generous; the
    # token's exp is exact but on the service's clock. The earlier of the two, on this machine's clock.
    expires_at = datetime.now(UTC) + timedelta(seconds=session.expires_in)
    exp = session.claim("exp")
    if isinstance(exp, int | float) and math.isfinite(exp) and 0 < exp < 1e11:
        expires_at = min(expires_at, datetime.fromtimestamp(exp, UTC))
    return dataclasses.replace(session, expires_at=expires_at)


def start_device_sign_in(client_name: str | None = None) -> Call[DeviceSignIn]:
    """Start a device sign-in (RFC 8628; public): a user code and a URL to show the person, who approves it in a
    browser where they are signed in to the dashboard, and a device code to poll with (``poll_device_sign_in``).
    ``client_name`` (one line, up to 100 characters) is shown on the approval page. Codes live 10 minutes."""
    # Not repeated after it may have reached the service: each try would make another code (and spend allowance).
    return Call("POST", "/auth/device/code", _one(DeviceSignIn), json=_body(client_name=client_name),
                credential="none", idempotent=False)  # fmt: skip


def poll_device_sign_in(device_code: str) -> Call[Session | DeviceSignInPending]:
    """Ask once whether the device sign-in was approved (public). Approved: the new ``Session`` (handed out once),
    which the client then uses. Not yet: a ``DeviceSignInPending`` saying how long to wait. Denied, expired, unknown
    or already used: ``AuthenticationError`` (code ``access_denied`` or ``expired_token``)."""
    body = {"device_code": device_code.strip(), "grant_type": DEVICE_CODE_GRANT_TYPE}
    # Not repeated after it may have reached the service: the first try may have taken the one session.
    return Call("POST", "/auth/device/token", _device_poll, json=body, credential="none", idempotent=False,
                answers=frozenset({400}), adopts_session=True)  # fmt: skip


def _device_poll(answer: Answer) -> Session | DeviceSignInPending:
    if answer.status == 200:
        return _session(answer)
    body = answer.body if isinstance(answer.body, dict) else {}
    if body.get("code") in DEVICE_SIGN_IN_WAITS:
        return decode(DeviceSignInPending, body)
    raise error_for(answer.status, body or {"detail": f"HTTP {answer.status}"},
                    request_id=answer.headers.get("x-request-id"))  # fmt: skip


def logout() -> Call[str]:
    """End the client's session on every instance (its access and refresh token stop working). A session that
    had already ended is not an error."""
    return Call("POST", "/auth/logout", _logged_out, credential="user", answers=frozenset({401}),
                ends_session=CURRENT_SESSION)  # fmt: skip


def _logged_out(answer: Answer) -> str:
    body = answer.body if isinstance(answer.body, dict) else {}
    if answer.status == 200:
        return _message(answer)
    if body.get("code") == TokenFailure.SESSION_REVOKED:
        return "The session had already ended"
    raise error_for(answer.status, body or {"detail": f"HTTP {answer.status}"}, request_id=answer.headers.get(
        "x-request-id"))  # fmt: skip


def me() -> Call[UserInfo]:
    """The signed-in user."""
    return Call("GET", "/auth/me", _one(UserInfo), credential="user")


def list_sessions() -> Call[list[SessionInfo]]:
    """The signed-in user's open sessions (``current`` marks the client's)."""
    return Call("GET", "/auth/sessions", _every(SessionInfo), credential="user")


def end_session(session_id: str) -> Call[str]:
    """End one of the signed-in user's sessions (another user's is ``NotFoundError``)."""
    return Call("DELETE", path("/auth/sessions/{}", session_id), _message, credential="user", ends_session=session_id)


def validate_token(token: str, *, service: str | None = None) -> Call[TokenValidation]:
    """Ask the service whether an access token is good now, revocations included (public). Every verdict about
    the token comes back as a ``TokenValidation``; only transport and service failures raise."""
    body = _body(token=token.strip(), service=service)
    return Call("POST", "/api/v1/tokens/validate", _token_validation, json=body, credential="none",
                answers=frozenset({401}))  # fmt: skip


def _token_validation(answer: Answer) -> TokenValidation:
    body = dict(answer.body) if isinstance(answer.body, dict) else {}
    body["status"] = answer.status
    body.setdefault("valid", answer.status == 200)
    return decode(TokenValidation, body)


# ----------------------------------------------------------------------------------------------- users (admin)


def list_users(*, limit: int | None = None, cursor: str | None = None) -> Call[Page[UserInfo]]:
    """One page of users, newest first (admin)."""
    return Call("GET", USERS, _page(UserInfo), params={"limit": limit, "cursor": cursor})


def get_user(user_id: str) -> Call[UserInfo]:
    """One user (admin)."""
    return Call("GET", path(USERS + "/{}", user_id), _one(UserInfo))


def set_user_active(user_id: str, active: bool) -> Call[UserInfo]:
    """Disable (``False``) or enable a user (admin). Disabling ends their sessions and stops every key they own,
    on every instance within a second; enabling makes their keys work again."""
    return Call("PATCH", path(USERS + "/{}", user_id), _one(UserInfo), json={"is_active": active})


# ----------------------------------------------------------------------------------------------- registration


def register(
    organization_name: str,
    contact_email: str,
    contact_name: str,
    use_case: str,
    *,
    website_url: str | None = None,
) -> Call[Registration]:
    """Register a company (public): a verification link is mailed to ``contact_email``. The answer is the same
    whether or not the address was registered before (its owner is told by mail instead)."""
    body = _body(organization_name=organization_name, contact_email=contact_email, contact_name=contact_name,
                 use_case=use_case, website_url=website_url)  # fmt: skip
    # Not repeated after it may have reached the service: a repeat mails the address's owner again.
    return Call("POST", "/register", _one(Registration), json=body, credential="none", idempotent=False)


def verify_registration_email(token: str) -> Call[RegistrationState]:
    """Verify a registration's address with the token of the mailed link (public, single-use): the
    registration then waits for an operator's approval."""
    return Call("POST", "/registration/verify-email", _one(RegistrationState), json={"token": token.strip()},
                credential="none", idempotent=False)  # fmt: skip


def registration_status(email: str) -> Call[RegistrationState]:
    """Where the registration made with ``email`` is (public); ``NotFoundError`` when there is none."""
    return Call("POST", "/registration/status", _one(RegistrationState), json={"email": email}, credential="none")


def list_registrations(
    *, status: str | None = None, limit: int | None = None, cursor: str | None = None
) -> Call[Page[Registration]]:
    """One page of registrations, newest first, optionally of one status (admin)."""
    return Call("GET", REGISTRATIONS, _page(Registration), params={"status": status, "limit": limit, "cursor": cursor})


def get_registration(registration_id: str) -> Call[Registration]:
    """One registration (admin)."""
    return Call("GET", path(REGISTRATIONS + "/{}", registration_id), _one(Registration))


def approve_registration(registration_id: str, *, reason: str | None = None) -> Call[Registration]:
    """Approve a registration pending approval (admin): its organization is created and the contact is mailed a
    claim link (7 days). ``reason`` goes to the audit log. A registration is decided once (``ConflictError``)."""
    return _decide(registration_id, RegistrationStatus.APPROVED, reason)


def reject_registration(registration_id: str, *, reason: str | None = None) -> Call[Registration]:
    """Reject a registration pending approval (admin); the contact is mailed ``reason``."""
    return _decide(registration_id, RegistrationStatus.REJECTED, reason)


def _decide(registration_id: str, status: RegistrationStatus, reason: str | None) -> Call[Registration]:
    body = _body(status=status.value, reason=reason)
    # Not repeated: a decision that reached the service is final, and a repeat would answer 409.
    return Call("PATCH", path(REGISTRATIONS + "/{}", registration_id), _one(Registration), json=body,
                idempotent=False)  # fmt: skip


def claim_organization(token: str) -> Call[ClaimedOrganization]:
    """Claim an approved organization with the token of its mailed claim link (a signed-in user): the user
    becomes its Owner and receives its first production key, shown this once. A used link is ``ConflictError``
    (410 ``claimed``)."""
    return Call("POST", path("/api/v1/claims/{}", token.strip()), _one(ClaimedOrganization), credential="user",
                idempotent=False)  # fmt: skip


# ----------------------------------------------------------------------------------------------- organizations
# A signed-in user's (the session's access token). Each answers 404 to a caller who is not a member, and 403
# ``insufficient_role`` (``AuthorizationError.required_role``) to a member below the role the endpoint needs.


def create_organization(name: str) -> Call[Organization]:
    """Create an organization; the caller is its Owner."""
    # Not repeated after it may have reached the service: a repeat would create a second organization.
    return Call("POST", ORGANIZATIONS, _one(Organization), json={"name": name}, credential="user", idempotent=False)


def list_organizations() -> Call[list[Organization]]:
    """The caller's organizations, each with the caller's role."""
    return Call("GET", ORGANIZATIONS, _every(Organization), credential="user")


def get_organization(organization_id: str) -> Call[Organization]:
    """One organization (any member)."""
    return Call("GET", path(ORGANIZATION, organization_id), _one(Organization), credential="user")


def rename_organization(organization_id: str, name: str) -> Call[Organization]:
    """Rename an organization (Admin)."""
    return Call("PATCH", path(ORGANIZATION, organization_id), _one(Organization), json={"name": name},
                credential="user")  # fmt: skip


def delete_organization(organization_id: str) -> Call[str]:
    """Delete an organization (Owner): its keys are revoked at once, its members and invitations removed; its
    audit log stays."""
    # Not repeated: once it reached the service, a repeat answers 404 for an organization that was deleted.
    return Call("DELETE", path(ORGANIZATION, organization_id), _message, credential="user", idempotent=False)


def list_members(organization_id: str) -> Call[list[OrganizationMember]]:
    """The organization's members and their roles (any member)."""
    return Call("GET", path(ORGANIZATION + "/members", organization_id), _every(OrganizationMember),
                credential="user")  # fmt: skip


def set_member_role(organization_id: str, user_id: str, role: str) -> Call[OrganizationMember]:
    """Change a member's role (Admin; only an Owner grants or takes away Owner). The last Owner cannot be demoted
    (``ConflictError``, ``last_owner``)."""
    return Call("PATCH", path(ORGANIZATION + "/members/{}", organization_id, user_id), _one(OrganizationMember),
                json={"role": role}, credential="user")  # fmt: skip


def remove_member(organization_id: str, user_id: str) -> Call[str]:
    """Remove a member (Admin; only an Owner removes an Owner). Any member may remove themselves (leave), except
    the last Owner (``ConflictError``). The organization's keys they created stay."""
    # Not repeated: once it reached the service, a repeat answers 404 for the member that was removed.
    return Call("DELETE", path(ORGANIZATION + "/members/{}", organization_id, user_id), _message, credential="user",
                idempotent=False)  # fmt: skip


def invite_member(organization_id: str, email: str, *, role: str | None = None) -> Call[Invitation]:
    """Invite an address (Admin; only an Owner invites an Owner; default role developer). A link with a
    single-use token, valid 7 days, is mailed to it; inviting the address again replaces its pending
    invitation."""
    body = _body(email=email, role=role)
    # Not repeated after it may have reached the service: a repeat mails a new link and the first stops working.
    return Call("POST", path(ORGANIZATION + "/invitations", organization_id), _one(Invitation), json=body,
                credential="user", idempotent=False)  # fmt: skip


def list_invitations(organization_id: str) -> Call[list[Invitation]]:
    """The organization's pending invitations (Admin)."""
    return Call("GET", path(ORGANIZATION + "/invitations", organization_id), _every(Invitation), credential="user")


def revoke_invitation(organization_id: str, invitation_id: str) -> Call[str]:
    """Withdraw a pending invitation (Admin): its link stops working."""
    # Not repeated: once it reached the service, a repeat answers 404 for the invitation that was withdrawn.
    return Call("DELETE", path(ORGANIZATION + "/invitations/{}", organization_id, invitation_id), _message,
                credential="user", idempotent=False)  # fmt: skip


def accept_invitation(token: str) -> Call[Organization]:
    """Join an organization with the token of a mailed invitation link (``.../invitations/accept?token=...``):
    the answer is the organization, with the role the invitation gave. A token that is unknown, used or expired
    is ``InvalidRequestError`` (``invalid_token``); an invitation for an address another user has verified is
    ``AuthorizationError`` (``invitation_for_another_user``)."""
    return Call("POST", "/api/v1/invitations/accept", _one(Organization), json={"token": token.strip()},
                credential="user", idempotent=False)  # fmt: skip


def create_organization_key(
    organization_id: str,
    name: str,
    service_id: str,
    *,
    scopes: Iterable[str] | None = None,
    environment: str | None = None,
    expires_in_days: int | None = None,
    rate_limit_per_hour: int | None = None,
    burst: int | None = None,
    monthly_prediction_limit: int | None = None,
    allowed_ips: Iterable[str] | None = None,
) -> Call[CreatedOrganizationKey]:
    """Create a key of the organization (Developer), billed on its plan; the caller is named as its creator. The
    answer holds the key itself, shown this once."""
    body = _body(
        name=name,
        service_id=service_id,
        scopes=_list(scopes),
        environment=environment,
        expires_in_days=expires_in_days,
        rate_limit_per_hour=rate_limit_per_hour,
        burst=burst,
        monthly_prediction_limit=monthly_prediction_limit,
        allowed_ips=_list(allowed_ips),
    )
    # Never repeated after it may have reached the service: a retry could mint a second key.
    return Call("POST", path(ORGANIZATION + "/api-keys", organization_id), _one(CreatedOrganizationKey), json=body,
                credential="user", idempotent=False)  # fmt: skip


def list_organization_keys(
    organization_id: str, *, active_only: bool = False, limit: int | None = None, cursor: str | None = None
) -> Call[Page[APIKeyInfo]]:
    """One page of the organization's keys, newest first (any member)."""
    params: dict[str, Any] = {"active_only": active_only or None, "limit": limit, "cursor": cursor}
    return Call("GET", path(ORGANIZATION + "/api-keys", organization_id), _page(APIKeyInfo), params=params,
                credential="user")  # fmt: skip


def revoke_organization_key(organization_id: str, key_id: str) -> Call[str]:
    """Revoke a key of the organization at once and for good (a Developer the keys they created; an Admin any).
    Revoking twice is not an error."""
    return Call("DELETE", path(ORGANIZATION + "/api-keys/{}", organization_id, key_id), _message, credential="user")


def list_organization_audit_logs(
    organization_id: str,
    *,
    actor: str | None = None,
    action: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int | None = None,
    cursor: str | None = None,
) -> Call[Page[AuditEvent]]:
    """One page of the organization's audit log, newest first (Admin). ``since`` is inclusive, ``until``
    exclusive."""
    params: dict[str, Any] = {"actor": actor, "action": action, "since": since, "until": until, "limit": limit,
                              "cursor": cursor}  # fmt: skip
    return Call("GET", path(ORGANIZATION + "/audit-logs", organization_id), _page(AuditEvent), params=params,
                credential="user")  # fmt: skip


def get_organization_usage(organization_id: str, *, period: str | None = None) -> Call[OrganizationUsage]:
    """The organization's usage and billing in a month, ``YYYY-MM`` (UTC; default the current month), per key
    (any member)."""
    return Call("GET", path(ORGANIZATION + "/usage", organization_id), _one(OrganizationUsage),
                params={"period": period}, credential="user")  # fmt: skip


# ----------------------------------------------------------------------------------------------- validation

VALIDATION_ANSWERS = frozenset({401, 403, 429})


def validate_key(
    key: str,
    *,
    service_id: str | None = None,
    required_scope: str | None = None,
    client_ip: str | None = None,
    environment: str | None = None,
    cost: int | None = None,
) -> Call[ValidationResult]:
    """Ask the service whether ``key`` is good (public). A key that fails the offline format check is answered
    without a request. Every verdict about the key comes back as a ``ValidationResult``; only transport and
    service failures raise."""
    key = key.strip()
    body = _body(service_id=service_id, required_scope=required_scope, client_ip=client_ip,
                 environment=environment, cost=cost)  # fmt: skip
    fmt = check_format(key)
    known = None
    if not fmt.valid:
        known = ValidationResult(
            is_valid=False, status=Failure.INVALID.status, code=Failure.INVALID, error=Failure.INVALID.error,
            detail=fmt.problem,
            checked_offline=True,
        )  # fmt: skip
    return Call(
        "POST",
        KEYS + "/validate",
        _validation,
        json=body,
        headers={"Authorization": f"Bearer {key}"},
        credential="none",
        answers=VALIDATION_ANSWERS,
        known_answer=known,
    )


def _validation(answer: Answer) -> ValidationResult:
    body = dict(answer.body) if isinstance(answer.body, dict) else {}
    body["status"] = answer.status
    body.setdefault("is_valid", answer.status == 200)
    result = decode(ValidationResult, {k: v for k, v in body.items() if k != "rate_limit"})
    headers = answer.headers
    extra: dict[str, Any] = {"retry_after": parse_retry_after(headers.get("retry-after"))}
    if "x-ratelimit-limit" in headers:
        with contextlib.suppress(KeyError, ValueError):  # a malformed header is not worth failing the answer
            extra["rate_limit"] = RateLimitStatus(
                int(headers["x-ratelimit-limit"]),
                int(headers["x-ratelimit-remaining"]),
                int(headers["x-ratelimit-reset"]),
            )
    return dataclasses.replace(result, **extra)


# ----------------------------------------------------------------------------------------------- usage


def record_usage(
    key_id: str,
    *,
    service_id: str,
    endpoint: str,
    status_code: int,
    response_time_ms: int,
    predictions_count: int = 0,
    compute_ms: int = 0,
    idempotency_key: str | None = None,
) -> Call[str]:
    """Record one request made with a key (service credential). An idempotency key is generated when none is
    given, so a retry after a lost answer still counts once."""
    body = {
        "service_id": service_id,
        "endpoint": endpoint,
        "status_code": status_code,
        "response_time_ms": response_time_ms,
        "predictions_count": predictions_count,
        "compute_ms": compute_ms,
        "idempotency_key": idempotency_key or f"sdk-{uuid.uuid4()}",
    }
    return Call("POST", path("/api/v1/usage/{}", key_id), _message, json=body, credential="service")


def usage_stats(key_id: str, *, period: str | None = None) -> Call[UsageStats]:
    """A key's usage in one month, ``YYYY-MM`` (UTC; default the current month)."""
    return Call(
        "GET", path("/api/v1/usage/{}/stats", key_id), _one(UsageStats), params={"period": period}, credential="service"
    )


def billing(key_id: str) -> Call[BillingInfo]:
    """A key's plan, usage this billing cycle and overage."""
    return Call("GET", path("/api/v1/usage/{}/billing", key_id), _one(BillingInfo), credential="service")


def usage_aggregate(
    *, service_id: str | None = None, start_date: date | str | None = None, end_date: date | str | None = None
) -> Call[UsageAggregate]:
    """Usage per day and service across all keys (default: the last 30 days)."""
    params = {"service_id": service_id, "start_date": start_date, "end_date": end_date}
    return Call("GET", "/api/v1/usage/aggregate", _one(UsageAggregate), params=params, credential="service")


# ----------------------------------------------------------------------------------------------- audit, ops


def list_audit_logs(
    *,
    key_id: str | None = None,
    actor: str | None = None,
    action: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int | None = None,
    cursor: str | None = None,
) -> Call[Page[AuditEvent]]:
    """One page of the audit log, newest first (admin)."""
    params: Mapping[str, Any] = {"key_id": key_id, "actor": actor, "action": action, "since": since,
                                 "until": until, "limit": limit, "cursor": cursor}  # fmt: skip
    return Call("GET", "/api/v1/audit-logs", _page(AuditEvent), params=dict(params))


def health() -> Call[bool]:
    """Whether the service process is alive (no dependency is checked)."""
    return Call("GET", "/health", lambda answer: answer.status == 200, credential="none")


def ready() -> Call[Readiness]:
    """Whether the service can serve (its database, and Redis when configured, answer)."""

    def parse(answer: Answer) -> Readiness:
        checks = answer.body.get("checks", {}) if isinstance(answer.body, dict) else {}
        return Readiness(answer.status == 200, {str(k): bool(v) for k, v in checks.items()})

    return Call("GET", "/ready", parse, credential="none", answers=frozenset({503}))
