"""Registration over HTTP: the public endpoints a company uses, the operators' (admin token) list and decision,
and the claim by a signed-in user. Thin: parse, call the service, shape the answer."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from hokusai._vocabulary import ErrorCode, RegistrationStatus, TokenFailure
from hokusai_auth.components import provided
from hokusai_auth.deps import AdminContext, UserPrincipal
from hokusai_auth.registrations.schemas import (
    ClaimedOrganization,
    DecisionRequest,
    RegisterRequest,
    RegistrationInfo,
    RegistrationReceipt,
    RegistrationState,
    StatusRequest,
    VerifiedEmail,
    VerifyEmailRequest,
)
from hokusai_auth.registrations.service import Registrations, parse_registration_id
from hokusai_auth.web.client_ip import IPNetwork
from hokusai_auth.web.context import RequestContext
from hokusai_auth.web.pagination import set_next_page

RegistrationService = Annotated[Registrations, Depends(provided(Registrations))]
ADMIN_PATH = "/api/v1/admin/registrations"
_PUBLIC_LIMIT = "too many requests from this client address (REGISTRATIONS_PER_HOUR, REGISTRATION_STATUS_PER_HOUR)"


def build_router(trusted_proxies: tuple[IPNetwork, ...]) -> APIRouter:
    router = APIRouter(tags=["registration"])

    def anonymous(request: Request) -> RequestContext:
        return RequestContext.of(request, "anonymous", trusted_proxies)

    @router.post(
        "/register",
        status_code=201,
        operation_id="register",
        summary="Register a company: a verification link is mailed to the contact",
        responses={
            422: {"description": "a field is missing, too long, or not acceptable; `detail` names it"},
            429: {"description": f"{_PUBLIC_LIMIT}; see Retry-After"},
        },
    )
    async def register(
        body: RegisterRequest, request: Request, registrations: RegistrationService
    ) -> RegistrationReceipt:
        return await registrations.register(body, anonymous(request))

    @router.post(
        "/registration/verify-email",
        operation_id="verify_registration_email",
        summary="Verify the contact's address with the mailed token: the registration waits for approval",
        responses={
            400: {"description": f"`{TokenFailure.INVALID}`: the token is unknown, used or expired"},
            429: {"description": f"{_PUBLIC_LIMIT}; see Retry-After"},
        },
    )
    async def verify_email(
        body: VerifyEmailRequest, request: Request, registrations: RegistrationService
    ) -> VerifiedEmail:
        return await registrations.verify_email(body.token, anonymous(request))

    @router.post(
        "/registration/status",
        operation_id="registration_status",
        summary="Where the registration made with an address is",
        responses={
            404: {"description": "no registration for this address (an invalid address answers the same)"},
            429: {"description": f"{_PUBLIC_LIMIT}; see Retry-After"},
        },
    )
    async def status(body: StatusRequest, request: Request, registrations: RegistrationService) -> RegistrationState:
        return await registrations.status(body.email, anonymous(request))

    @router.get(ADMIN_PATH, operation_id="list_registrations", summary="List registrations (newest first)")
    async def list_registrations(
        request: Request,
        response: Response,
        _ctx: AdminContext,
        registrations: RegistrationService,
        status: RegistrationStatus | None = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        cursor: str | None = None,
    ) -> list[RegistrationInfo]:
        page = await registrations.list(status, limit, cursor)
        set_next_page(request, response, page.next_cursor)
        return page.items

    @router.get(
        f"{ADMIN_PATH}/{{registration_id}}",
        operation_id="get_registration",
        summary="Get one registration",
        responses={404: {"description": "Registration not found"}},
    )
    async def get_registration(
        registration_id: str, _ctx: AdminContext, registrations: RegistrationService
    ) -> RegistrationInfo:
        return await registrations.get(parse_registration_id(registration_id))

    @router.patch(
        f"{ADMIN_PATH}/{{registration_id}}",
        operation_id="decide_registration",
        summary="Approve (creates the organization, mails the claim link) or reject (mails the reason)",
        responses={
            404: {"description": "Registration not found"},
            409: {"description": f"`{ErrorCode.NOT_PENDING_APPROVAL}`: the email is unverified, or it was decided"},
        },
    )
    async def decide(
        registration_id: str, body: DecisionRequest, ctx: AdminContext, registrations: RegistrationService
    ) -> RegistrationInfo:
        return await registrations.decide(parse_registration_id(registration_id), body, ctx)

    @router.post(
        "/api/v1/claims/{token}",
        status_code=201,
        operation_id="claim_organization",
        summary="Claim an approved organization with its mailed link: the caller becomes its Owner and gets a key",
        responses={
            400: {"description": f"`{TokenFailure.INVALID}`: the claim link is unknown or expired"},
            410: {"description": f"`{ErrorCode.CLAIMED}`: the claim link was already used"},
        },
    )
    async def claim(token: str, user: UserPrincipal, registrations: RegistrationService) -> ClaimedOrganization:
        return await registrations.claim(token, user.user_id, user.context)

    return router
