"""``GET /.well-known/jwks.json``: the public keys that verify access tokens, for anyone (hokusai.tokens, any
JWT library). Public and cacheable; a retired key stays listed until every token it signed has expired."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from hokusai._jws import JWKS_PATH
from hokusai_auth.components import provided
from hokusai_auth.signing.keyring import SigningKeyRing

SigningKeys = Annotated[SigningKeyRing, Depends(provided(SigningKeyRing))]
CACHE_CONTROL = "public, max-age=300"

router = APIRouter(tags=["access tokens"])


class JsonWebKey(BaseModel):
    kty: str = Field(description='"OKP"')
    crv: str = Field(description='"Ed25519"')
    x: str = Field(description="the public key: 32 bytes, base64url")
    kid: str = Field(description="the key id in the header of the tokens it signed (RFC 7638 thumbprint)")
    alg: str = Field(description='"EdDSA"')
    use: str = Field(description='"sig"')


class JsonWebKeySet(BaseModel):
    keys: list[JsonWebKey] = Field(description="the current key and retired keys whose tokens may still be valid")


@router.get(
    JWKS_PATH,
    operation_id="get_jwks",
    summary="Public keys that verify access tokens (JWKS)",
    responses={200: {"model": JsonWebKeySet, "description": "a JWK Set (RFC 7517); cacheable for 5 minutes"}},
    response_class=JSONResponse,
)
async def jwks(keyring: SigningKeys) -> JSONResponse:
    return JSONResponse(keyring.jwks(), headers={"Cache-Control": CACHE_CONTROL})
