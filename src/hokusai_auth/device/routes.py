"""Device sign-in over HTTP (RFC 8628, in JSON): the public code and token endpoints a command line uses, and the
approval and denial a signed-in user sends (the dashboard's page calls the same service). Thin: parse, call the
service, shape the answer."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response

from hokusai._vocabulary import ErrorCode
from hokusai_auth.components import provided
from hokusai_auth.deps import UserPrincipal
from hokusai_auth.device.schemas import (
    DeviceCode,
    DeviceCodeRequest,
    DeviceDecision,
    DeviceTokenRequest,
    UserCodeRequest,
)
from hokusai_auth.device.service import DeviceAuthorizations
from hokusai_auth.sessions.schemas import SignedIn
from hokusai_auth.web.client_ip import IPNetwork
from hokusai_auth.web.context import RequestContext

Devices = Annotated[DeviceAuthorizations, Depends(provided(DeviceAuthorizations))]
POLL_ANSWERS = (
    f"`{{error, code, detail}}`, `error` = `code` (RFC 8628 §3.5): `{ErrorCode.AUTHORIZATION_PENDING}` and "
    f"`{ErrorCode.SLOW_DOWN}` (poll again after `interval`, which they carry), `{ErrorCode.ACCESS_DENIED}`, "
    f"`{ErrorCode.EXPIRED_TOKEN}` (unknown, expired or already used: stop)"
)
DECISION_ANSWERS: dict[int | str, dict[str, Any]] = {
    400: {"description": f"`{ErrorCode.INVALID_USER_CODE}`: no request waits with this code (unknown, expired, used)"},
    429: {"description": "too many approvals and denials by this user; see Retry-After"},
}


def build_router(trusted_proxies: tuple[IPNetwork, ...]) -> APIRouter:
    router = APIRouter(tags=["sign-in"])

    def anonymous(request: Request) -> RequestContext:
        return RequestContext.of(request, "anonymous", trusted_proxies)

    @router.post(
        "/auth/device/code",
        operation_id="device_code",
        summary="Start a device sign-in: a device code to poll with and a user code to approve in the browser",
        responses={
            422: {"description": "client_name is not one line of at most 100 characters"},
            429: {"description": "too many codes from this client address (DEVICE_CODES_PER_HOUR); see Retry-After"},
        },
    )
    async def device_code(
        request: Request, response: Response, devices: Devices, body: DeviceCodeRequest | None = None
    ) -> DeviceCode:
        response.headers["Cache-Control"] = "no-store"
        return await devices.create(body.client_name if body is not None else None, anonymous(request))

    @router.post(
        "/auth/device/token",
        operation_id="device_token",
        summary="Poll a device sign-in: once approved, a new session's tokens (once)",
        responses={400: {"description": POLL_ANSWERS}},
    )
    async def device_token(
        body: DeviceTokenRequest, request: Request, response: Response, devices: Devices
    ) -> SignedIn:
        pair = await devices.token(body.device_code, anonymous(request))
        response.headers["Cache-Control"] = "no-store"
        return SignedIn(
            access_token=pair.access_token,
            expires_in=pair.expires_in,
            refresh_token=pair.refresh_token,
            user_id=pair.user_id,
            wallet_address=pair.wallet_address,
        )

    @router.post(
        "/auth/device/approve",
        operation_id="device_approve",
        summary="Approve a device sign-in as the signed-in user: its next poll receives a session of theirs",
        responses=DECISION_ANSWERS,
    )
    async def approve(body: UserCodeRequest, caller: UserPrincipal, devices: Devices) -> DeviceDecision:
        await devices.approve(body.user_code, caller.user_id, caller.context)
        return DeviceDecision(message="Approved: the device is signed in at its next poll")

    @router.post(
        "/auth/device/deny",
        operation_id="device_deny",
        summary=f"Deny a device sign-in: its next poll answers {ErrorCode.ACCESS_DENIED}",
        responses=DECISION_ANSWERS,
    )
    async def deny(body: UserCodeRequest, caller: UserPrincipal, devices: Devices) -> DeviceDecision:
        await devices.deny(body.user_code, caller.user_id, caller.context)
        return DeviceDecision(message="Denied: the device is not signed in")

    return router
