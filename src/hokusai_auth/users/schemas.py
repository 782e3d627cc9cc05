"""What the service shows of a user, and what an operator may change."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, StrictBool

from hokusai_auth.request_model import RequestModel
from hokusai_auth.users.models import User


class UserInfo(BaseModel):
    id: uuid.UUID
    wallet_address: str | None
    email: str | None
    display_name: str | None
    is_active: bool
    created_at: datetime
    last_login_at: datetime | None

    @classmethod
    def of(cls, row: User) -> UserInfo:
        return cls(
            id=row.id,
            wallet_address=row.wallet_address,
            email=row.email,
            display_name=row.display_name,
            is_active=row.is_active,
            created_at=row.created_at,
            last_login_at=row.last_login_at,
        )


class UpdateUserRequest(RequestModel):
    model_config = ConfigDict(extra="forbid")

    is_active: StrictBool
