"""Shell completion for values: services and environments from the shared vocabulary, roles, and key ids,
organizations and their members from the service.

A completion runs on every Tab: it must be quick and must never print. What comes from the service is fetched with
the configured profile (or ``--profile``/``--url`` typed before them), with a short timeout and no retry; any
failure completes nothing. Organizations, their members and keys are the signed-in user's (``hokusai auth login
--wallet``).
"""

from __future__ import annotations

import contextlib
import uuid
import warnings
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, TypeVar

import typer

from hokusai._models import ROLES
from hokusai._vocabulary import MLFLOW_READ_SCOPES, PREDICT_SCOPES, Environment, Service

if TYPE_CHECKING:
    from hokusai._client import AuthClient

T = TypeVar("T")
KEY_ID_TIMEOUT_S = 2.0


def _starting(values: list[str], incomplete: str) -> list[str]:
    return [value for value in values if value.startswith(incomplete.lower())]


# The canonical ids only: aliases are accepted when typed, but offering them would double every list.
def services(incomplete: str) -> list[str]:
    return _starting(list(Service), incomplete)


def environments(incomplete: str) -> list[str]:
    return _starting(list(Environment), incomplete)


def scopes(incomplete: str) -> list[str]:
    """The scopes the gateway asks for (a key may carry others)."""
    return _starting([*MLFLOW_READ_SCOPES, *PREDICT_SCOPES], incomplete)


def key_ids(ctx: typer.Context, incomplete: str) -> list[tuple[str, str]]:
    """(id, what it is) pairs: zsh and fish show the second part next to the id."""
    from hokusai._client import AuthClient
    from hokusai._config import resolve
    from hokusai._transport import RetryPolicy

    profile, url = ctx.params.get("profile"), ctx.params.get("url")
    with warnings.catch_warnings(), contextlib.suppress(Exception):
        warnings.simplefilter("ignore")  # e.g. a config file others can read: said by every command, not on Tab
        config = resolve(profile, auth_service_url=url, timeout=KEY_ID_TIMEOUT_S)
        if not config.admin_token and config.session is None:
            return []
        with AuthClient(config=config, retry=RetryPolicy(attempts=1)) as client:
            keys = client.list_keys(limit=100).items
        return [(key.key_id, f"{key.name} ({key.key_prefix})") for key in keys
                if key.key_id.startswith(incomplete)]  # fmt: skip
    return []


def roles(incomplete: str) -> list[str]:
    return _starting(list(ROLES), incomplete)


@contextlib.contextmanager
def _signed_in(ctx: typer.Context) -> Iterator[AuthClient | None]:
    """A client with the profile's session (None when there is none), quiet and quick."""
    from hokusai._client import AuthClient
    from hokusai._config import resolve
    from hokusai._transport import RetryPolicy

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        config = resolve(ctx.params.get("profile"), auth_service_url=ctx.params.get("url"), timeout=KEY_ID_TIMEOUT_S)
        if config.session is None:
            yield None
            return
        with AuthClient(config=config, retry=RetryPolicy(attempts=1)) as client:
            yield client


def _asking(ctx: typer.Context, fetch: Callable[[AuthClient], list[T]]) -> list[T]:
    with contextlib.suppress(Exception), _signed_in(ctx) as client:
        return [] if client is None else fetch(client)
    return []


def _organization_id(client: AuthClient, value: str) -> str | None:
    """The id of the ORG typed before (an id, or a name of one of the user's organizations)."""
    with contextlib.suppress(ValueError):
        return str(uuid.UUID(value))
    named = [org.id for org in client.list_organizations() if org.name == value]
    return named[0] if len(named) == 1 else None


def organizations(ctx: typer.Context, incomplete: str) -> list[tuple[str, str]]:
    """(id, "name (role)") pairs of the signed-in user's organizations."""
    return _asking(ctx, lambda client: [(org.id, f"{org.name} ({org.role})") for org in client.list_organizations()
                                        if org.id.startswith(incomplete)])  # fmt: skip


def _of_organization(
    ctx: typer.Context, fetch: Callable[[AuthClient, str], list[tuple[str, str]]]
) -> list[tuple[str, str]]:
    typed = ctx.params.get("organization")
    if not isinstance(typed, str):
        return []

    def ask(client: AuthClient) -> list[tuple[str, str]]:
        organization_id = _organization_id(client, typed)
        return [] if organization_id is None else fetch(client, organization_id)

    return _asking(ctx, ask)


def members(ctx: typer.Context, incomplete: str) -> list[tuple[str, str]]:
    """(user id, "role wallet") pairs of the members of the ORG typed before."""
    return _of_organization(ctx, lambda client, org: [
        (member.user_id, f"{member.role} {member.wallet_address or member.email or ''}".strip())
        for member in client.list_members(org) if member.user_id.startswith(incomplete)
    ])  # fmt: skip


def organization_key_ids(ctx: typer.Context, incomplete: str) -> list[tuple[str, str]]:
    """(key id, "name (prefix)") pairs of the active keys of the ORG typed before."""
    return _of_organization(ctx, lambda client, org: [
        (key.key_id, f"{key.name} ({key.key_prefix})")
        for key in client.list_organization_keys(org, active_only=True, limit=100).items
        if key.key_id.startswith(incomplete)
    ])  # fmt: skip
