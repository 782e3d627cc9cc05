"""Request and answer models of organizations, members, invitations, organization keys and usage.

Roles travel in lower case (``owner``, ``admin``, ``developer``, ``viewer``). Strict at the edge like every
request body here: unknown fields are refused, names are one trimmed line, addresses are checked and normalized.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictStr

from hokusai_auth.choices import PlanChoice, literal_of
from hokusai_auth.keys.schemas import CreatedKey, CreateKeyRequest
from hokusai_auth.organizations.models import ORGANIZATION_NAME_MAX
from hokusai_auth.organizations.roles import Role
from hokusai_auth.request_model import RequestModel
from hokusai_auth.text_fields import EmailAddress, one_line

OrganizationName = Annotated[StrictStr, Field(min_length=1, max_length=ORGANIZATION_NAME_MAX), AfterValidator(one_line)]
RoleChoice = Annotated[Role, literal_of(Role)]


class CreateOrganizationRequest(RequestModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: OrganizationName


class UpdateOrganizationRequest(RequestModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: OrganizationName


class OrganizationInfo(BaseModel):
    id: uuid.UUID
    name: str
    created_at: datetime
    billing_plan: str
    role: RoleChoice = Field(description="the caller's role in the organization")


class MemberInfo(BaseModel):
    user_id: uuid.UUID
    role: RoleChoice
    wallet_address: str | None
    email: str | None
    display_name: str | None
    joined_at: datetime
    invited_by: uuid.UUID | None


class UpdateMemberRequest(RequestModel):
    model_config = ConfigDict(extra="forbid")

    role: RoleChoice


class InviteRequest(RequestModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    email: EmailAddress = Field(description="the invitation is mailed here; the domain is lower-cased")
    role: RoleChoice = Role.DEVELOPER


class InvitationInfo(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    organization_id: uuid.UUID
    email: str
    role: RoleChoice
    invited_by: uuid.UUID
    created_at: datetime
    expires_at: datetime


class AcceptInvitationRequest(RequestModel):
    model_config = ConfigDict(extra="forbid")

    token: StrictStr = Field(description="the token of the mailed invitation link (`/invitations/accept?token=...`)")


class OrganizationKeyRequest(CreateKeyRequest):
    """A key's settings, less what the organization decides: ``user_id`` (the member creating it) and
    ``billing_plan`` (the organization's). Setting either is 403, as for a user's own keys."""


class CreatedOrganizationKey(CreatedKey):
    organization_id: uuid.UUID


class KeyUsage(BaseModel):
    key_id: uuid.UUID
    name: str
    key_prefix: str
    requests: int
    predictions: int
    compute_ms: int


class OrganizationUsage(BaseModel):
    organization_id: uuid.UUID
    period: str = Field(description="YYYY-MM (UTC)")
    billing_plan: str
    total_requests: int
    total_predictions: int
    total_compute_ms: int
    average_response_time_ms: float
    error_rate: float = Field(description="share of requests answered with status >= 400, 0..1")
    included_predictions: int
    overage_charges: float = Field(description="US dollars for predictions beyond the plan in the period")
    overage_charges_micros: int
    keys: list[KeyUsage] = Field(description="every key of the organization with usage in the period, busiest first")


class Done(BaseModel):
    message: str


class OrganizationRecord(BaseModel):
    """An organization as operators see it (deleted ones too)."""

    id: uuid.UUID
    name: str
    created_at: datetime
    updated_at: datetime
    billing_plan: PlanChoice
    deleted_at: datetime | None
    members: int


class UpdatePlanRequest(RequestModel):
    model_config = ConfigDict(extra="forbid")

    billing_plan: PlanChoice = Field(description="the organization's keys are billed on it from now on")
