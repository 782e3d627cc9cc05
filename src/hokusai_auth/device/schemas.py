"""Request and answer bodies of device sign-in (RFC 8628 §3.1-3.5, in JSON). The token endpoint's success is
sessions.schemas.SignedIn, the answer of a wallet sign-in."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictStr

from hokusai._vocabulary import DEVICE_CODE_GRANT_TYPE
from hokusai_auth.device.codes import USER_CODE_INPUT_MAX
from hokusai_auth.device.models import CLIENT_NAME_MAX
from hokusai_auth.mailed_tokens import MAX_LENGTH
from hokusai_auth.request_model import RequestModel
from hokusai_auth.text_fields import one_line


def _device_grant(value: str) -> str:
    if value != DEVICE_CODE_GRANT_TYPE:
        raise ValueError(f"must be {DEVICE_CODE_GRANT_TYPE} (or left out)")
    return value


ClientName = Annotated[StrictStr, Field(min_length=1, max_length=CLIENT_NAME_MAX), AfterValidator(one_line)]


class DeviceCodeRequest(RequestModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    client_name: ClientName | None = Field(
        None, description="what asks, shown on the approval page (e.g. 'hokusai CLI on my-laptop'); one line"
    )


class DeviceCode(BaseModel):
    device_code: str = Field(description="the command line's secret (hkd_...): poll POST /auth/device/token with it")
    user_code: str = Field(description="what the person checks in the browser: XXXX-XXXX")
    verification_uri: str = Field(description="where the person approves: PUBLIC_URL/dashboard/device")
    verification_uri_complete: str = Field(description="the same with ?user_code=XXXX-XXXX")
    expires_in: int = Field(description="seconds both codes live")
    interval: int = Field(description="seconds to wait between two polls")


class DeviceTokenRequest(RequestModel):
    model_config = ConfigDict(extra="forbid")

    device_code: Annotated[StrictStr, Field(max_length=MAX_LENGTH)]
    grant_type: Annotated[StrictStr, AfterValidator(_device_grant)] | None = Field(
        None, description=f"optional; RFC 8628 clients send {DEVICE_CODE_GRANT_TYPE}, the only value accepted"
    )


class UserCodeRequest(RequestModel):
    model_config = ConfigDict(extra="forbid")

    user_code: Annotated[StrictStr, Field(min_length=1, max_length=USER_CODE_INPUT_MAX)] = Field(
        description="XXXX-XXXX as the command line shows it; case, spaces and the dash do not matter"
    )


class DeviceDecision(BaseModel):
    message: str
