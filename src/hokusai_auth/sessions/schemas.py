"""Request and response bodies of sessions."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from hokusai_auth.request_model import RequestModel
from hokusai_auth.sessions.models import UserSession


class RefreshRequest(RequestModel):
    model_config = ConfigDict(extra="forbid")

    refresh_token: Annotated[str, Field(min_length=1, max_length=512)]


class SessionInfo(BaseModel):
    session_id: uuid.UUID
    created_at: datetime
    last_refreshed_at: datetime | None
    expires_at: datetime = Field(description="when the session ends unless it is refreshed before")
    client_ip: str | None
    user_agent: str | None
    current: bool = Field(description="the session of the token that asked")

    @classmethod
    def of(cls, row: UserSession, current: uuid.UUID | None) -> SessionInfo:
        return cls(
            session_id=row.id,
            created_at=row.created_at,
            last_refreshed_at=row.last_refreshed_at,
            expires_at=row.expires_at,
            client_ip=row.client_ip,
            user_agent=row.user_agent,
            current=row.id == current,
        )


class Message(BaseModel):
    message: str


class SignedIn(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - the OAuth token type, not a secret
    expires_in: int = Field(description="seconds the access token is valid")
    refresh_token: str
    user_id: uuid.UUID
    wallet_address: str | None
    is_new_user: bool = False
