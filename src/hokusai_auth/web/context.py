"""What an audit record needs to know about the request that caused it.

Every value here comes from the client and ends up in a column, so each is cut to the column's size (defined
once in limits.py): a long User-Agent is recorded shortened rather than failing the change it describes."""

from __future__ import annotations

from dataclasses import dataclass, replace

from starlette.requests import Request

from hokusai_auth.limits import USER_AGENT_MAX
from hokusai_auth.redact import mask_keys
from hokusai_auth.web.asgi import Scope, header
from hokusai_auth.web.client_ip import IPNetwork, client_ip


@dataclass(frozen=True, slots=True)
class RequestContext:
    actor: str
    client_ip: str | None
    user_agent: str | None
    request_id: str | None

    @classmethod
    def from_scope(cls, scope: Scope, actor: str, proxies: tuple[IPNetwork, ...]) -> RequestContext:
        address = client_ip(scope, proxies)
        agent = header(scope, b"user-agent")
        return cls(
            actor=actor,
            client_ip=str(address) if address else None,
            user_agent=mask_keys(agent)[:USER_AGENT_MAX] if agent else None,  # audit records hold no secret
            request_id=scope.get("hokusai.request_id"),  # the envelope only admits ids that fit their column
        )

    def with_actor(self, actor: str) -> RequestContext:
        return replace(self, actor=actor)

    @classmethod
    def of(cls, request: Request, actor: str, proxies: tuple[IPNetwork, ...]) -> RequestContext:
        return cls.from_scope(request.scope, actor, proxies)
