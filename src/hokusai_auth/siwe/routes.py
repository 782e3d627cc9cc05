"""``POST /auth/siwe/challenge`` and ``POST /auth/siwe/verify``: public; every refusal of verify is a 401 with
the contract's code (siwe/service.py lists them in the order they are checked)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from hokusai_auth.components import provided
from hokusai_auth.sessions.schemas import SignedIn
from hokusai_auth.siwe.schemas import Challenge, ChallengeRequest, VerifyRequest
from hokusai_auth.siwe.service import SIGN_IN_REFUSALS, SignIn
from hokusai_auth.web.client_ip import IPNetwork
from hokusai_auth.web.context import RequestContext

VERIFY_REFUSALS = ", ".join(code.value for code in SIGN_IN_REFUSALS)
SignInService = Annotated[SignIn, Depends(provided(SignIn))]


def build_router(trusted_proxies: tuple[IPNetwork, ...]) -> APIRouter:
    router = APIRouter(tags=["sign-in"])

    @router.post(
        "/auth/siwe/challenge",
        operation_id="siwe_challenge",
        summary="Get an EIP-4361 message to sign with the wallet",
        responses={
            422: {"description": "the wallet address or chain id is not acceptable; `detail` names it"},
            429: {"description": "too many challenges from this address (SIGN_IN_PER_HOUR); see Retry-After"},
        },
    )
    async def challenge(body: ChallengeRequest, request: Request, sign_in: SignInService) -> Challenge:
        ctx = RequestContext.of(request, "anonymous", trusted_proxies)
        return await sign_in.challenge(body.wallet_address, body.chain_id, ctx.client_ip)

    @router.post(
        "/auth/siwe/verify",
        operation_id="siwe_verify",
        summary="Sign in with the signed message: a session's access and refresh tokens",
        responses={
            401: {"description": VERIFY_REFUSALS},
            429: {"description": "too many sign-ins from this address (SIGN_IN_PER_HOUR); see Retry-After"},
        },
    )
    async def verify(body: VerifyRequest, request: Request, sign_in: SignInService) -> SignedIn:
        ctx = RequestContext.of(request, "anonymous", trusted_proxies)
        pair, is_new = await sign_in.verify(body.message, body.signature, ctx)
        return SignedIn(
            access_token=pair.access_token,
            expires_in=pair.expires_in,
            refresh_token=pair.refresh_token,
            user_id=pair.user_id,
            wallet_address=pair.wallet_address,
            is_new_user=is_new,
        )

    return router
