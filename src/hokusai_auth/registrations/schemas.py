"""Request and answer models of registration, approval and the claim link.

Strict at the edge: unknown fields are refused, text is trimmed and bounded (the same sizes as the columns), a
name is one line without control characters, an email address is checked for syntax (ASCII, no quoted local
parts or address literals) and normalized, a website is an http or https URL with a host and no credentials.
Refusals never quote the refused value.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictStr

from hokusai._vocabulary import RegistrationStatus
from hokusai_auth.choices import literal_of
from hokusai_auth.keys.schemas import CreatedKey
from hokusai_auth.organizations.models import ORGANIZATION_NAME_MAX
from hokusai_auth.registrations.models import CONTACT_NAME_MAX, REJECTION_REASON_MAX, USE_CASE_MAX, WEBSITE_URL_MAX
from hokusai_auth.request_model import RequestModel
from hokusai_auth.text_fields import CONTROL, EmailAddress, free_text, one_line


def _website(value: str) -> str:
    if CONTROL.search(value) or " " in value:
        raise ValueError("must be a URL without spaces or control characters")
    try:
        parts = urlsplit(value)
        host = parts.hostname
        _ = parts.port  # a port that is not a number raises here
    except ValueError:
        raise ValueError("not a URL") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise ValueError("must be an http:// or https:// URL")
    if not host:
        raise ValueError("must name a host (https://example.com)")
    if parts.username is not None or parts.password is not None:
        raise ValueError("must not contain a user name or password")
    return value


OrganizationName = Annotated[StrictStr, Field(min_length=1, max_length=ORGANIZATION_NAME_MAX), AfterValidator(one_line)]
ContactName = Annotated[StrictStr, Field(min_length=1, max_length=CONTACT_NAME_MAX), AfterValidator(one_line)]
ContactEmail = EmailAddress
UseCase = Annotated[StrictStr, Field(min_length=1, max_length=USE_CASE_MAX), AfterValidator(free_text)]
WebsiteUrl = Annotated[StrictStr, Field(min_length=1, max_length=WEBSITE_URL_MAX), AfterValidator(_website)]
Reason = Annotated[StrictStr, Field(min_length=1, max_length=REJECTION_REASON_MAX), AfterValidator(free_text)]
StatusChoice = Annotated[RegistrationStatus, literal_of(RegistrationStatus)]


class Decision(StrEnum):
    """What an operator may set a registration pending approval to."""

    APPROVED = RegistrationStatus.APPROVED.value
    REJECTED = RegistrationStatus.REJECTED.value


class RegisterRequest(RequestModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    organization_name: OrganizationName
    contact_email: ContactEmail = Field(description="the verification mail goes here; the domain is lower-cased")
    contact_name: ContactName
    use_case: UseCase = Field(description="what the company means to do with Hokusai")
    website_url: WebsiteUrl | None = Field(None, description="http:// or https:// only")


class VerifyEmailRequest(RequestModel):
    model_config = ConfigDict(extra="forbid")

    token: StrictStr = Field(description="the token of the verification link (`/registration/verify?token=...`)")


class StatusRequest(RequestModel):
    model_config = ConfigDict(extra="forbid")

    email: StrictStr = Field(description="the address the registration was made with")


class DecisionRequest(RequestModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    status: Annotated[Decision, literal_of(Decision)]
    reason: (
        Annotated[StrictStr, Field(min_length=1, max_length=REJECTION_REASON_MAX), AfterValidator(free_text)] | None
    ) = Field(None, description="mailed to the contact with a rejection; kept in the audit log with an approval")


class RegistrationReceipt(BaseModel):
    """The answer to ``POST /register``: the same shape whether or not the address was already registered."""

    id: uuid.UUID
    organization_name: str
    contact_email: str
    contact_name: str
    status: StatusChoice
    created_at: datetime


class VerifiedEmail(BaseModel):
    status: StatusChoice


class RegistrationState(BaseModel):
    status: StatusChoice
    created_at: datetime


class RegistrationInfo(BaseModel):
    """A registration as operators see it."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    organization_name: str
    contact_email: str
    contact_name: str
    use_case: str
    website_url: str | None
    status: StatusChoice
    created_at: datetime
    updated_at: datetime
    email_verified_at: datetime | None
    decided_at: datetime | None
    decided_by: str | None
    rejection_reason: str | None
    organization_id: uuid.UUID | None


class ClaimedOrganization(CreatedKey):
    """The organization's first production key (shown this once) and the organization, now the caller's."""

    organization_id: uuid.UUID
