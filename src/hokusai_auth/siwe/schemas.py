"""Request and response bodies of wallet sign-in."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictInt

from hokusai_auth.request_model import RequestModel
from hokusai_auth.siwe.message import MAX_CHAIN_ID
from hokusai_auth.siwe.signature import InvalidAddress, checksum


def _wallet(value: str) -> str:
    try:
        return checksum(value)
    except InvalidAddress as error:
        raise ValueError(f"not an Ethereum address: {error.reason}") from None


class ChallengeRequest(RequestModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    wallet_address: Annotated[str, Field(max_length=42), AfterValidator(_wallet)]
    chain_id: Annotated[StrictInt, Field(ge=1, le=MAX_CHAIN_ID)] | None = None


class Challenge(BaseModel):
    message: str = Field(description="the EIP-4361 message to sign with personal_sign, byte for byte")
    nonce: str
    expires_at: datetime


class VerifyRequest(RequestModel):
    model_config = ConfigDict(extra="forbid")

    @classmethod
    def _storable_text(cls, value: Any) -> Any:
        # Nothing of this body is stored, and a NUL or a lone surrogate in the message is a message that is not
        # strict EIP-4361: the contract's 401 invalid_message (siwe/message.py refuses them), not a 422.
        return value

    # Lengths are checked by the verifier, so that an oversize message is the contract's 401 invalid_message.
    message: str
    signature: str
