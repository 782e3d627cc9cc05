"""Request and response models of key management. Unknown fields are refused (a misspelt ``allowed_ip`` must
not silently create an unrestricted key); integers are strict (``"100"`` or ``true`` are not numbers)."""

from __future__ import annotations

import ipaddress
import uuid
from datetime import datetime
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    ValidationInfo,
    field_validator,
)
from pydantic.json_schema import SkipJsonSchema

from hokusai._vocabulary import Environment, Plan, canonical_service, describe_services
from hokusai_auth.choices import EnvironmentChoice, PlanChoice
from hokusai_auth.request_model import RequestModel
from hokusai_auth.times import BOUNDS_TEXT, AwareTime

MAX_SCOPES = 50
MAX_ALLOWED_IPS = 100


def _service(value: str) -> str:
    canonical = canonical_service(value)
    if canonical is None:
        # Never quote the refused value: a 422 body must not echo input (it may be a key pasted in error).
        raise ValueError(f"unknown service id; valid service ids: {describe_services()}")
    return canonical


def _network(value: str) -> str:
    try:
        return str(ipaddress.ip_network(value.strip(), strict=False))
    except ValueError:
        raise ValueError("not an IPv4/IPv6 address or CIDR range") from None


def _unique(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


ServiceId = Annotated[str, Field(min_length=1, max_length=64), AfterValidator(_service)]
Name = Annotated[str, Field(min_length=1, max_length=100)]
# One permission a key carries ("read", "model:write"); not an ASGI scope (hokusai_auth.web.asgi.Scope).
Permission = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:*/-]{0,63}$")]
Scopes = Annotated[list[Permission], Field(max_length=MAX_SCOPES), AfterValidator(_unique)]
AllowedIPs = Annotated[
    list[Annotated[str, Field(max_length=64), AfterValidator(_network)]],
    Field(min_length=1, max_length=MAX_ALLOWED_IPS),
    AfterValidator(_unique),
]
RateLimit = Annotated[StrictInt, Field(ge=10, le=100_000)]
Burst = Annotated[StrictInt, Field(ge=1, le=100_000)]
MonthlyLimit = Annotated[StrictInt, Field(ge=0, le=10**12)]


class CreateKeyRequest(RequestModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: Name
    service_id: ServiceId
    scopes: Scopes = Field(default_factory=list, description="empty: full access within the service")
    environment: EnvironmentChoice = Environment.PRODUCTION
    expires_in_days: Annotated[StrictInt, Field(ge=1, le=365)] | None = None
    rate_limit_per_hour: RateLimit = 1000
    burst: Burst | None = Field(None, description="null: equal to rate_limit_per_hour")
    monthly_prediction_limit: MonthlyLimit | None = None
    allowed_ips: AllowedIPs | None = Field(None, description="null: any address")
    billing_plan: PlanChoice = Plan.FREE
    user_id: Annotated[str, Field(min_length=1, max_length=255)] = "admin"

    @field_validator("burst")
    @classmethod
    def _burst_within_limit(cls, burst: int | None, info: ValidationInfo) -> int | None:
        limit = info.data.get("rate_limit_per_hour")
        if burst is not None and limit is not None and burst > limit:
            raise ValueError(f"burst ({burst}) cannot exceed rate_limit_per_hour ({limit})")
        return burst


class UpdateKeyRequest(RequestModel):
    """Only the fields present change; ``null`` clears a field that may be null (burst, limits, allowlist)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    # May be left out but never null: the schema says so (SkipJsonSchema hides the None that marks "left out").
    name: Name | SkipJsonSchema[None] = None
    scopes: Scopes | SkipJsonSchema[None] = None
    rate_limit_per_hour: RateLimit | SkipJsonSchema[None] = None
    burst: Burst | None = None
    monthly_prediction_limit: MonthlyLimit | None = None
    allowed_ips: AllowedIPs | None = None
    billing_plan: PlanChoice | SkipJsonSchema[None] = None
    expires_at: AwareTime | None = Field(None, description=f"RFC 3339 with a time zone, {BOUNDS_TEXT}")
    allow_expiry_extension: StrictBool = Field(
        False, description="must be true to move expires_at later than it is now (or to remove it)"
    )

    @field_validator("name", "scopes", "rate_limit_per_hour", "billing_plan")
    @classmethod
    def _not_null(cls, value: object, info: ValidationInfo) -> object:
        if value is None:
            raise ValueError(f"{info.field_name} cannot be null")
        return value


class RotateKeyRequest(RequestModel):
    model_config = ConfigDict(extra="forbid")

    grace_period_seconds: Annotated[StrictInt, Field(ge=0, le=604_800)] = Field(
        0, description="how long the old key keeps working (never past its own expiry); 0: stops at once"
    )


class APIKeyInfo(BaseModel):
    key_id: uuid.UUID
    name: str
    key_prefix: str
    user_id: str
    organization_id: uuid.UUID | None = None
    service_id: str
    scopes: list[str]
    environment: EnvironmentChoice
    is_active: bool
    rate_limit_per_hour: int
    burst: int | None
    monthly_prediction_limit: int | None
    allowed_ips: list[str] | None
    billing_plan: PlanChoice
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None
    rotated_from: uuid.UUID | None
    rotated_to: uuid.UUID | None


class CreatedKey(BaseModel):
    api_key: str = Field(description="the key itself: shown this once, never stored, cannot be shown again")
    key_id: uuid.UUID
    key_info: APIKeyInfo
    warning: str = "Store this API key now: it is shown only once and cannot be recovered."


class RevokedMessage(BaseModel):
    message: str = "API key revoked successfully"
