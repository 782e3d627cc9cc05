"""Shell completion for values: services and environments from the shared vocabulary, key ids from the service.

A completion runs on every Tab: it must be quick and must never print. Key ids are fetched with the configured
profile (or ``--profile``/``--url`` typed before them), once, with a short timeout and no retry; any failure
completes nothing.
"""

from __future__ import annotations

import contextlib
import warnings

import typer

from hokusai._vocabulary import MLFLOW_READ_SCOPES, PREDICT_SCOPES, Environment, Service

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
