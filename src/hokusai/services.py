"""The fixed vocabularies of a key: services (and their historic aliases), environments, billing plans.

Shared by the SDK, the CLI, the auth service and the gateway, so none of them can disagree on which service ids
are valid (the failure behind the 2025-07 incident).
"""

from __future__ import annotations

SERVICES: tuple[str, ...] = ("prediction", "platform")
SERVICE_ALIASES: dict[str, str] = {
    "website": "platform",
    "ml-platform": "platform",
    "prediction-api": "prediction",
}
ENVIRONMENTS: tuple[str, ...] = ("production", "test", "development")
BILLING_PLANS: tuple[str, ...] = ("free", "starter", "pro", "enterprise")


def canonical_service(service_id: str) -> str | None:
    """The canonical id for a service id or alias (case-insensitive), or None if it is not one."""
    normalized = service_id.strip().lower()
    if normalized in SERVICES:
        return normalized
    return SERVICE_ALIASES.get(normalized)


def describe_services() -> str:
    """Human list of the valid ids, for messages: 'prediction, platform (aliases: website → platform, ...)'."""
    aliases = ", ".join(f"{alias} → {target}" for alias, target in SERVICE_ALIASES.items())
    return f"{', '.join(SERVICES)} (aliases: {aliases})"
