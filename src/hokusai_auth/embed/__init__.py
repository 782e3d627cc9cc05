"""Validating Hokusai API keys inside another service, without an HTTP hop.

    from hokusai_auth.embed import EmbeddedValidator, HokusaiAuthMiddleware

Both read the auth service's database (and Redis, when configured) with the same caches, checks and error
contract as ``POST /api/v1/keys/validate``. Configure them with the auth service's SECRET_KEY and DATABASE_URL
(and REDIS_URL): see docs/embedding.md.
"""

from hokusai_auth.embed.middleware import HokusaiAuthMiddleware
from hokusai_auth.embed.validator import AuthenticatedKey, AuthenticatedUser, EmbeddedValidator

__all__ = ["AuthenticatedKey", "AuthenticatedUser", "EmbeddedValidator", "HokusaiAuthMiddleware"]
