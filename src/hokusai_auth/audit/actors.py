"""Who an audit event's actor is, as a kind and an id: ``actor_type`` and ``actor_id`` derived from ``actor``.

The mapping (docs/audit.md): ``admin:<fingerprint>`` → admin, ``service:<name>`` → service, ``user:<uuid>`` →
user, each with the part after the colon as the id. ``anonymous`` (an unauthenticated caller of a public,
user-facing endpoint: registration, wallet sign-in, refresh) → user with no id: a person not identified (yet).
Anything else → system with no id: what the service records on its own, e.g. the refused-credential counts its
background flush writes (actor ``unknown``), or a command run on the server (``hokusai-auth rotate-signing-key``,
actor ``hokusai-auth``).
"""

from __future__ import annotations

from enum import StrEnum


class ActorType(StrEnum):
    ADMIN = "admin"
    USER = "user"
    SERVICE = "service"
    SYSTEM = "system"


ACTOR_TYPE_MAX = 16
ANONYMOUS = "anonymous"
_NAMED = {ActorType.ADMIN, ActorType.SERVICE, ActorType.USER}


def classify(actor: str) -> tuple[ActorType, str | None]:
    """``(actor_type, actor_id)`` for an actor as RequestContext names it."""
    if actor == ANONYMOUS:
        return ActorType.USER, None
    kind, _, ident = actor.partition(":")
    if kind in _NAMED:
        return ActorType(kind), ident or None
    return ActorType.SYSTEM, None
