"""The validate endpoint's request and responses."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, IPvAnyAddress, StrictInt, field_validator

from hokusai._vocabulary import ENVIRONMENT_ALIASES
from hokusai_auth.choices import EnvironmentChoice
from hokusai_auth.request_model import RequestModel


class ValidateRequest(RequestModel):
    """Unknown fields are ignored here (unlike key management): integrations send what they send."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    api_key: Annotated[str, Field(max_length=256)] | None = None
    service_id: Annotated[str, Field(max_length=64)] | None = Field(None, description="service id or alias")
    required_scope: Annotated[str, Field(max_length=128)] | None = None
    any_scope: Annotated[list[Annotated[str, Field(max_length=128)]], Field(max_length=20)] | None = Field(
        None, description="the key needs one of these scopes (a key without scopes has them all)"
    )
    client_ip: IPvAnyAddress | None = Field(None, description="the end client's address, for IP allowlists")
    environment: EnvironmentChoice | None = None
    cost: Annotated[StrictInt, Field(ge=0, le=1_000_000)] = Field(
        1, description="rate-limit units to spend; 0 checks without spending"
    )

    @field_validator("environment", mode="before")
    @classmethod
    def _environment_alias(cls, value: object) -> object:
        if isinstance(value, str):
            lowered = value.strip().lower()
            return ENVIRONMENT_ALIASES.get(lowered, lowered)
        return value


class ValidKey(BaseModel):
    is_valid: Literal[True] = True
    key_id: str
    user_id: str
    organization_id: str | None = None
    service_id: str
    scopes: list[str]
    environment: str
    rate_limit_per_hour: int
    rate_limit_remaining: int
    billing_plan: str
    monthly_prediction_limit: int | None
    expires_at: datetime | None


class InvalidKey(BaseModel):
    is_valid: Literal[False] = False
    error: str
    code: str
    detail: str
