"""Sessions over HTTP: refresh (public, with the refresh token), logout, the signed-in user and their sessions
(with the access token), and ``POST /api/v1/tokens/validate`` (public; served by the fast path, documented here)."""

from __future__ import annotations

import uuid
from enum import Enum
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response

from hokusai._vocabulary import ErrorCode, TokenFailure
from hokusai_auth.components import provided
from hokusai_auth.deps import UserPrincipal
from hokusai_auth.errors import not_found
from hokusai_auth.sessions.schemas import Message, RefreshRequest, SessionInfo, SignedIn
from hokusai_auth.sessions.service import SESSION_NOT_FOUND, SessionService
from hokusai_auth.sessions.token_endpoint import TokenChecking, TokenValidateRequest, answer_token
from hokusai_auth.users.schemas import UserInfo
from hokusai_auth.users.service import UserService
from hokusai_auth.web.client_ip import IPNetwork
from hokusai_auth.web.context import RequestContext

Sessions = Annotated[SessionService, Depends(provided(SessionService))]
Users = Annotated[UserService, Depends(provided(UserService))]
TOKEN_VALIDATE_PATH = "/api/v1/tokens/validate"  # noqa: S105 - a path

VALID_ANSWER = "`{valid: true, user_id, wallet_address, permissions, organization_ids, session_id, expires_at}`"
REFUSAL_ANSWER = "`{valid: false, error, code, detail}`; code " + ", ".join(failure.value for failure in TokenFailure)
REFRESH_REFUSALS = f"{ErrorCode.INVALID_REFRESH_TOKEN}, or {ErrorCode.REFRESH_TOKEN_REUSED} (the session ended)"
_TOKEN_DOC: dict[str, Any] = {
    "requestBody": {
        "required": False,
        "content": {"application/json": {"schema": TokenValidateRequest.model_json_schema()}},
    }
}
_TOKEN_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": VALID_ANSWER},
    401: {"description": REFUSAL_ANSWER},
    422: {"description": "malformed request body"},
}


def _session_id(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise not_found(SESSION_NOT_FOUND) from None


def build_router(trusted_proxies: tuple[IPNetwork, ...]) -> APIRouter:
    router = APIRouter()  # tags per route: token validation is listed with key validation, once
    sessions_tag: list[str | Enum] = ["sessions"]

    @router.post(
        "/auth/token/refresh",
        tags=sessions_tag,
        operation_id="refresh_session",
        summary="New access and refresh tokens for a refresh token (which is then spent)",
        responses={401: {"description": REFRESH_REFUSALS}},
    )
    async def refresh(body: RefreshRequest, request: Request, sessions: Sessions) -> SignedIn:
        pair = await sessions.refresh(body.refresh_token, RequestContext.of(request, "anonymous", trusted_proxies))
        return SignedIn(
            access_token=pair.access_token,
            expires_in=pair.expires_in,
            refresh_token=pair.refresh_token,
            user_id=pair.user_id,
            wallet_address=pair.wallet_address,
        )

    @router.post("/auth/logout", tags=sessions_tag, operation_id="logout", summary="End this session on every instance")
    async def logout(caller: UserPrincipal, sessions: Sessions) -> Message:
        await sessions.end(caller.user_id, caller.session_id, caller.context, reason="logout")
        return Message(message="Logged out")

    @router.get("/auth/me", tags=sessions_tag, operation_id="me", summary="The signed-in user")
    async def me(caller: UserPrincipal, users: Users) -> UserInfo:
        return UserInfo.of(await users.get(caller.user_id))

    @router.get(
        "/auth/sessions", tags=sessions_tag, operation_id="list_sessions", summary="The signed-in user's open sessions"
    )
    async def list_sessions(caller: UserPrincipal, sessions: Sessions) -> list[SessionInfo]:
        rows = await sessions.open_sessions(caller.user_id)
        return [SessionInfo.of(row, caller.session_id) for row in rows]

    @router.delete(
        "/auth/sessions/{session_id}",
        tags=sessions_tag,
        operation_id="end_session",
        summary="End one of the signed-in user's sessions (another user's is 404)",
        responses={404: {"description": "Session not found"}},
    )
    async def end_session(session_id: str, caller: UserPrincipal, sessions: Sessions) -> Message:
        await sessions.end(caller.user_id, _session_id(session_id), caller.context, reason="revoke")
        return Message(message="Session ended")

    @router.post(
        TOKEN_VALIDATE_PATH,
        operation_id="validate_token",
        summary="Validate an access token (public)",
        openapi_extra=_TOKEN_DOC,
        responses=_TOKEN_RESPONSES,
        tags=["validation"],
    )
    async def validate_token(request: Request) -> Response:
        checking: TokenChecking = request.app.state.runtime
        status, content, headers = await answer_token(checking, request.scope, await request.body())
        return Response(
            content,
            status_code=status,
            media_type="application/json",
            headers={name.decode(): value.decode() for name, value in headers},
        )

    return router
