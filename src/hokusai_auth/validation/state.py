"""A key's validation state: the immutable snapshot that caches hold, and the checks made against it.

Checks run in a fixed order (revoked, expired, owner disabled, environment, service, IP allowlist, scope) so the
same key and request always get the same answer, whichever instance or embedding answers.
"""

from __future__ import annotations

import hashlib
import ipaddress
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from hokusai._vocabulary import Failure, canonical_service, describe_services
from hokusai_auth.validation.rejection import Rejection, reject

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def hash_fingerprint(key_hash: str) -> str:
    """Identifies which bcrypt hash a cached entry was verified against, without carrying the hash around."""
    return hashlib.sha256(key_hash.encode()).hexdigest()[:32]


class KeyFacts(Protocol):
    """What a verdict tells about the key it judged: the fields of the validate endpoint's answer. ``KeyState``
    has them all; a gateway that validates over HTTP reads them back from that answer (``validation/answer.py``)."""

    @property
    def key_id(self) -> uuid.UUID: ...
    @property
    def key_id_text(self) -> str: ...
    @property
    def user_id(self) -> str: ...
    @property
    def organization_id(self) -> uuid.UUID | None: ...
    @property
    def service_id(self) -> str: ...
    @property
    def scopes(self) -> tuple[str, ...]: ...
    @property
    def environment(self) -> str: ...
    @property
    def billing_plan(self) -> str: ...
    @property
    def rate_limit_per_hour(self) -> int: ...
    @property
    def monthly_prediction_limit(self) -> int | None: ...
    @property
    def expires_at(self) -> datetime | None: ...


@dataclass(frozen=True, slots=True)
class KeyState:
    key_id: uuid.UUID
    version: int
    hash_fingerprint: str
    user_id: str
    organization_id: uuid.UUID | None
    service_id: str
    scopes: tuple[str, ...]
    environment: str
    billing_plan: str
    rate_limit_per_hour: int
    burst: int | None
    monthly_prediction_limit: int | None
    allowed_networks: tuple[IPNetwork, ...] | None
    is_active: bool
    expires_at: datetime | None
    revoked_at: datetime | None
    owner_active: bool = True  # False while an operator has disabled the user who owns the key
    # The id as text, once: it names the rate-limit bucket and the answer on every validation of a cached key.
    key_id_text: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "key_id_text", str(self.key_id))

    @property
    def effective_burst(self) -> int:
        return self.burst if self.burst is not None else self.rate_limit_per_hour

    def is_usable_at(self, now: datetime) -> bool:
        return self.is_active and (self.revoked_at is None or now < self.revoked_at)

    def check(self, request: CheckRequest, now: datetime) -> Rejection | None:
        """The first rule this key breaks for ``request`` at ``now``, or None when it may be used."""
        if not self.is_usable_at(now):
            return reject(Failure.REVOKED)
        if self.expires_at is not None and now >= self.expires_at:
            return reject(Failure.EXPIRED)
        if not self.owner_active:
            return reject(Failure.USER_DISABLED)
        if request.environment is not None and request.environment != self.environment:
            return reject(
                Failure.ENVIRONMENT_MISMATCH,
                f"Key belongs to the {self.environment} environment, not {request.environment}",
            )
        if request.service_id is not None:
            asked = canonical_service(request.service_id)
            if asked != self.service_id:
                # Only a known service id is named back; anything else the caller sent is never echoed.
                what = f"service '{asked}'" if asked else "the service id given, which is not a service id"
                return reject(
                    Failure.WRONG_SERVICE,
                    f"Key is for service '{self.service_id}', not {what}. Valid service ids: {describe_services()}",
                )
        if self.allowed_networks is not None and not _ip_allowed(request.client_ip, self.allowed_networks):
            return reject(Failure.IP_NOT_ALLOWED)
        if self.scopes:
            if request.required_scope is not None and request.required_scope not in self.scopes:
                return reject(
                    Failure.INSUFFICIENT_SCOPE,
                    f"Key does not have required scope '{request.required_scope}'",
                    required_scope=request.required_scope,
                )
            if request.any_scope and not any(scope in self.scopes for scope in request.any_scope):
                wanted = " or ".join(f"'{scope}'" for scope in request.any_scope)
                return reject(
                    Failure.INSUFFICIENT_SCOPE,
                    f"Key has none of the scopes this request needs ({wanted})",
                    required_scope=request.any_scope[0],
                )
        return None

    def to_json(self) -> dict[str, Any]:
        return {
            "key_id": str(self.key_id),
            "version": self.version,
            "hash_fingerprint": self.hash_fingerprint,
            "user_id": self.user_id,
            "organization_id": str(self.organization_id) if self.organization_id else None,
            "service_id": self.service_id,
            "scopes": list(self.scopes),
            "environment": self.environment,
            "billing_plan": self.billing_plan,
            "rate_limit_per_hour": self.rate_limit_per_hour,
            "burst": self.burst,
            "monthly_prediction_limit": self.monthly_prediction_limit,
            "allowed_networks": (
                [str(net) for net in self.allowed_networks] if self.allowed_networks is not None else None
            ),
            "is_active": self.is_active,
            "expires_at": self.expires_at.isoformat() if self.expires_at else None,
            "revoked_at": self.revoked_at.isoformat() if self.revoked_at else None,
            "owner_active": self.owner_active,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> KeyState:
        networks = data.get("allowed_networks")
        return cls(
            key_id=uuid.UUID(data["key_id"]),
            version=int(data["version"]),
            hash_fingerprint=data["hash_fingerprint"],
            user_id=data["user_id"],
            organization_id=uuid.UUID(data["organization_id"]) if data.get("organization_id") else None,
            service_id=data["service_id"],
            scopes=tuple(data["scopes"]),
            environment=data["environment"],
            billing_plan=data["billing_plan"],
            rate_limit_per_hour=int(data["rate_limit_per_hour"]),
            burst=data.get("burst"),
            monthly_prediction_limit=data.get("monthly_prediction_limit"),
            allowed_networks=(tuple(ipaddress.ip_network(net) for net in networks) if networks is not None else None),
            is_active=bool(data["is_active"]),
            expires_at=datetime.fromisoformat(data["expires_at"]) if data.get("expires_at") else None,
            revoked_at=datetime.fromisoformat(data["revoked_at"]) if data.get("revoked_at") else None,
            owner_active=bool(data.get("owner_active", True)),
        )


@dataclass(frozen=True, slots=True)
class CheckRequest:
    """What the caller asks of a key. All optional: an empty request only asks "is this key usable?"."""

    service_id: str | None = None
    required_scope: str | None = None
    client_ip: IPAddress | None = None
    environment: str | None = None
    cost: int = 1
    any_scope: tuple[str, ...] = ()  # the key needs one of these (when it has scopes at all)


def _ip_allowed(client_ip: IPAddress | None, networks: tuple[IPNetwork, ...]) -> bool:
    if client_ip is None:
        return False
    if isinstance(client_ip, ipaddress.IPv6Address) and client_ip.ipv4_mapped is not None:
        client_ip = client_ip.ipv4_mapped  # ::ffff:203.0.113.7 is 203.0.113.7 for an IPv4 allowlist
    return any(client_ip in network for network in networks if network.version == client_ip.version)
