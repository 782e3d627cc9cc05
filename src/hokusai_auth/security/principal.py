"""Who is calling, for the routes that need an operator or a Hokusai service: checked from the headers alone,
before anything reads the request body (see security/gate.py).

``admin``: a configured admin token. ``service``: a configured service token or an admin token (usage reports).
Both checks always run for ``service``, so the timing does not tell an admin token from a service token.
``user``: a signed-in user's access token (sessions/verification.py). ``admin_or_user``: either; the key
endpoints then act for every key (admin) or for the user's own.
"""

from __future__ import annotations

from dataclasses import replace

from hokusai._vocabulary import ErrorCode, TokenFailure
from hokusai_auth.deps import REFUSED, Principal, Requirement
from hokusai_auth.errors import ServiceError
from hokusai_auth.security.failures import FailedCredentials
from hokusai_auth.security.tokens import BearerTokens
from hokusai_auth.sessions.verification import TokenChecker, TokenRefusal
from hokusai_auth.web.asgi import Scope
from hokusai_auth.web.client_ip import IPNetwork
from hokusai_auth.web.context import RequestContext
from hokusai_auth.web.credentials import bearer_token, jwt_shaped


class Credentials:
    """The admin and service tokens this service accepts, and the throttle on addresses that keep failing them."""

    def __init__(
        self,
        *,
        admin: BearerTokens,
        services: BearerTokens,
        failures: FailedCredentials,
        trusted_proxies: tuple[IPNetwork, ...],
        users: TokenChecker | None = None,
    ) -> None:
        self._admin = admin
        self._services = services
        self._failures = failures
        self._trusted_proxies = trusted_proxies
        self._users = users

    async def authenticate(self, scope: Scope, requirement: Requirement) -> Principal:
        """The caller as ``requirement`` asks, or ServiceError (401, or 429 while its address is throttled)."""
        action, message = REFUSED[requirement]
        refusal = ServiceError(401, ErrorCode.UNAUTHORIZED, message, headers={"WWW-Authenticate": "Bearer"})
        token = bearer_token(scope)
        if token is None:  # nothing offered, nothing to count
            if requirement is Requirement.USER:  # the access-token routes speak the token codes
                raise _token_refusal(TokenFailure.MISSING, "No access token: send Authorization: Bearer <token>")
            raise refusal
        ctx = RequestContext.from_scope(scope, "unknown", self._trusted_proxies)
        wait = await self._failures.retry_after(ctx.client_ip)
        if wait is not None:
            raise ServiceError(
                429,
                ErrorCode.TOO_MANY_FAILED_ATTEMPTS,
                f"Too many refused credentials from this address; retry in {wait} s",
                headers={"Retry-After": str(wait)},
            )
        if requirement is Requirement.USER:
            return await self._user(token, requirement, ctx, action)
        actor = self._admin.identify(token)
        if actor is None and requirement is Requirement.ADMIN_OR_USER and jwt_shaped(token):
            return await self._user(token, requirement, ctx, action)
        if requirement is Requirement.SERVICE:
            service_actor = self._services.identify(token)
            actor = actor or service_actor
        if actor is None:
            await self._failures.refused(action, ctx)
            raise refusal
        return Principal(requirement, replace(ctx, actor=actor))

    async def _user(self, token: str, requirement: Requirement, ctx: RequestContext, action: str) -> Principal:
        if self._users is None:  # a runtime without sign-in (never the service's): nobody is a user
            raise ServiceError(401, ErrorCode.UNAUTHORIZED, REFUSED[requirement][1])
        checked = await self._users.check(token)
        if isinstance(checked, TokenRefusal):
            if checked.failure is TokenFailure.INVALID:  # an expired token is ordinary; a forged one is counted
                await self._failures.refused(action, ctx)
            raise _token_refusal(checked.failure, checked.detail)
        actor = f"user:{checked.user_id}"
        return Principal(requirement, replace(ctx, actor=actor), checked.user_id, checked.session_id)


def _token_refusal(failure: TokenFailure, detail: str) -> ServiceError:
    challenge = {"WWW-Authenticate": 'Bearer error="invalid_token"'}
    return ServiceError(401, failure, detail, extra={"error": failure.error}, headers=challenge)
