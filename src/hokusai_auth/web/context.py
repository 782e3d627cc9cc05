"""What an audit record needs to know about the request that caused it."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request

from hokusai_auth.web.client_ip import IPNetwork, client_ip


@dataclass(frozen=True, slots=True)
class RequestContext:
    actor: str
    client_ip: str | None
    user_agent: str | None
    request_id: str | None

    @classmethod
    def of(cls, request: Request, actor: str, proxies: tuple[IPNetwork, ...]) -> RequestContext:
        address = client_ip(request.scope, proxies)
        agent = request.headers.get("user-agent")
        return cls(
            actor=actor,
            client_ip=str(address) if address else None,
            user_agent=agent[:512] if agent else None,
            request_id=request.scope.get("hokusai.request_id"),
        )
