"""``hokusai auth ...``: manage and check API keys without reading HTTP.

Every command resolves its settings like the SDK (flags, then the environment, then the profile), talks to the
service through ``AuthClient``, prints a table or JSON, and fails with one line and a documented exit code.
"""

from __future__ import annotations

import sys
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

import typer

from hokusai._client import AuthClient
from hokusai._config import Config, missing_message, resolve
from hokusai._errors import ConfigurationError
from hokusai._keys import looks_like_key
from hokusai._vocabulary import Environment, Plan, Service, choices
from hokusai.cli import _output as output
from hokusai.cli._failures import fail, reported
from hokusai.cli._output import Format

app = typer.Typer(help="Create, list, check, rotate and revoke Hokusai API keys.", no_args_is_help=True)

ProfileOpt = Annotated[
    str | None,
    typer.Option("--profile", "-p", help="profile of ~/.hokusai/config (default: HOKUSAI_PROFILE or default)"),
]
UrlOpt = Annotated[
    str | None,
    typer.Option(
        "--url", help="auth service URL (default: HOKUSAI_AUTH_SERVICE_URL, the profile, http://127.0.0.1:8000)"
    ),
]
FormatOpt = Annotated[Format, typer.Option("--format", "-f", help="table for people, json for scripts")]
KeyIdArg = Annotated[str, typer.Argument(help="the key's id (a UUID, as list-keys shows it)", show_default=False)]


def _admin_client(profile: str | None, url: str | None) -> AuthClient:
    config = resolve(profile, auth_service_url=url)
    if not config.admin_token:
        raise ConfigurationError(missing_message("admin_token", config.profile))
    return AuthClient(config=config)


def _key_id(value: str) -> str:
    if looks_like_key(value.strip()):
        # Never send a key as a path segment: URLs end up in access logs.
        raise fail("that is an API key, not a key id; find its id with `hokusai auth validate --key -`", 2)
    try:
        return str(uuid.UUID(value.strip()))
    except ValueError:
        raise fail(f"'{value}' is not a key id: key ids are UUIDs, as `hokusai auth list-keys` shows them", 2) from None


# ------------------------------------------------------------------------------------------------ keys


@app.command("create-key")
def create_key(
    name: Annotated[str, typer.Option("--name", "-n", help="what the key is for (1-100 characters)")],
    service: Annotated[
        str, typer.Option("--service", "-s", help=f"{choices(Service)} (aliases ok)")
    ] = Service.PLATFORM.value,
    environment: Annotated[str, typer.Option(help=choices(Environment))] = Environment.PRODUCTION.value,
    scope: Annotated[
        list[str] | None, typer.Option("--scope", help="a scope; repeat for several (none: full access)")
    ] = None,
    rate_limit: Annotated[int | None, typer.Option("--rate-limit", help="requests per hour, 10-100000 [1000]")] = None,
    burst: Annotated[int | None, typer.Option(help="most requests at once [the hourly limit]")] = None,
    monthly_prediction_limit: Annotated[int | None, typer.Option(help="predictions per month [no limit]")] = None,
    expires_in_days: Annotated[int | None, typer.Option("--expires-in-days", help="1-365 [never]")] = None,
    allowed_ip: Annotated[
        list[str] | None, typer.Option("--allowed-ip", help="an address or CIDR allowed to use the key; repeat")
    ] = None,
    billing_plan: Annotated[str | None, typer.Option(help=f"{choices(Plan)} [{Plan.FREE}]")] = None,
    user_id: Annotated[str | None, typer.Option(help="the key's owner [admin]")] = None,
    fmt: FormatOpt = Format.table,
    profile: ProfileOpt = None,
    url: UrlOpt = None,
) -> None:
    """Create an API key. The key is shown once: store it right away."""
    with reported(), _admin_client(profile, url) as client:
        created = client.create_key(
            name, service, scopes=scope, environment=environment, expires_in_days=expires_in_days,
            rate_limit_per_hour=rate_limit, burst=burst, monthly_prediction_limit=monthly_prediction_limit,
            allowed_ips=allowed_ip, billing_plan=billing_plan, user_id=user_id,
        )  # fmt: skip
        output.show(created, fmt, lambda: output.new_key(created, title="New API key"))


@app.command("list-keys")
def list_keys(
    service: Annotated[str | None, typer.Option("--service", "-s", help="only this service")] = None,
    user_id: Annotated[str | None, typer.Option(help="only this owner")] = None,
    active_only: Annotated[bool, typer.Option("--active-only", help="only keys usable now")] = False,
    limit: Annotated[int, typer.Option(help="keys per page (1-1000)")] = 100,
    all_pages: Annotated[bool, typer.Option("--all", help="follow every page")] = False,
    fmt: FormatOpt = Format.table,
    profile: ProfileOpt = None,
    url: UrlOpt = None,
) -> None:
    """List API keys, newest first."""
    with reported(), _admin_client(profile, url) as client:
        filters: dict[str, Any] = {
            "service_id": service,
            "user_id": user_id,
            "active_only": active_only,
            "limit": limit,
        }
        if all_pages:
            keys, more = list(client.iter_keys(**filters)), False
        else:
            page = client.list_keys(**filters)
            keys, more = page.items, page.next_cursor is not None
        output.show(keys, fmt, lambda: output.keys_table(keys, more=more))


@app.command("get-key")
def get_key(key_id: KeyIdArg, fmt: FormatOpt = Format.table, profile: ProfileOpt = None, url: UrlOpt = None) -> None:
    """Show one API key's settings and state."""
    key_id = _key_id(key_id)
    with reported(), _admin_client(profile, url) as client:
        key = client.get_key(key_id)
        output.show(key, fmt, lambda: output.key_details(key, title=f"API key {key.key_prefix}"))


@app.command("update-key")
def update_key(
    key_id: KeyIdArg,
    name: Annotated[str | None, typer.Option("--name", "-n")] = None,
    scope: Annotated[list[str] | None, typer.Option("--scope", help="replaces the scopes; repeat")] = None,
    all_scopes: Annotated[bool, typer.Option("--all-scopes", help="remove every scope: full access")] = False,
    rate_limit: Annotated[int | None, typer.Option("--rate-limit")] = None,
    burst: Annotated[int | None, typer.Option()] = None,
    monthly_prediction_limit: Annotated[int | None, typer.Option()] = None,
    allowed_ip: Annotated[list[str] | None, typer.Option("--allowed-ip", help="replaces the allowlist; repeat")] = None,
    any_ip: Annotated[bool, typer.Option("--any-ip", help="remove the allowlist")] = False,
    billing_plan: Annotated[str | None, typer.Option()] = None,
    fmt: FormatOpt = Format.table,
    profile: ProfileOpt = None,
    url: UrlOpt = None,
) -> None:
    """Change an API key's settings; every instance applies the change within a second."""
    key_id = _key_id(key_id)
    given: dict[str, object] = {
        "name": name,
        "rate_limit_per_hour": rate_limit,
        "burst": burst,
        "monthly_prediction_limit": monthly_prediction_limit,
        "billing_plan": billing_plan,
    }
    changes = {k: v for k, v in given.items() if v is not None}
    if scope and all_scopes:
        raise fail("give --scope or --all-scopes, not both", 2)
    if allowed_ip and any_ip:
        raise fail("give --allowed-ip or --any-ip, not both", 2)
    if scope or all_scopes:
        changes["scopes"] = [] if all_scopes else scope
    if allowed_ip or any_ip:
        changes["allowed_ips"] = None if any_ip else allowed_ip
    if not changes:
        raise fail("nothing to change: give at least one option (see --help)", 2)
    with reported(), _admin_client(profile, url) as client:
        key = client.update_key(key_id, **changes)  # type: ignore[arg-type]
        output.show(key, fmt, lambda: output.key_details(key, title="Updated"))


@app.command("revoke-key")
def revoke_key(
    key_id: KeyIdArg,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="do not ask for confirmation")] = False,
    fmt: FormatOpt = Format.table,
    profile: ProfileOpt = None,
    url: UrlOpt = None,
) -> None:
    """Revoke an API key at once, on every instance. This cannot be undone."""
    key_id = _key_id(key_id)
    with reported(), _admin_client(profile, url) as client:
        key = client.get_key(key_id)
        if not yes:
            if not sys.stdin.isatty():
                raise fail("refusing to revoke without confirmation: pass --yes", 2)
            question = f"Revoke '{key.name}' ({key.key_prefix}, {key.service_id})? It stops working at once, for good."
            if not typer.confirm(question, default=False):
                raise fail("not revoked", 1)
        message = client.revoke_key(key_id)
        if fmt is Format.json:
            output.print_json({"message": message, "key_id": key_id})
        else:
            output.stdout().print(
                f"Revoked '{key.name}' ({key.key_prefix}): it no longer works anywhere.", markup=False
            )


@app.command("rotate-key")
def rotate_key(
    key_id: KeyIdArg,
    grace_period: Annotated[
        int | None, typer.Option("--grace-period", help="seconds the old key keeps working, 0-604800 [0]")
    ] = None,
    fmt: FormatOpt = Format.table,
    profile: ProfileOpt = None,
    url: UrlOpt = None,
) -> None:
    """Replace an API key with a new one that has the same settings."""
    key_id = _key_id(key_id)
    with reported(), _admin_client(profile, url) as client:
        created = client.rotate_key(key_id, grace_period_seconds=grace_period)
        if fmt is Format.json:
            output.print_json(created)
            return
        output.new_key(created, title="Rotated: new API key")
        old = client.get_key(key_id)
        if old.revoked_at is not None and old.revoked_at > datetime.now(UTC):
            output.note(f"The old key {old.key_prefix} keeps working until {old.revoked_at:%Y-%m-%d %H:%M:%S} UTC.")
        else:
            output.note(f"The old key {old.key_prefix} has stopped working.")


# ------------------------------------------------------------------------------------------------ checks


def _read_key(value: str | None, config: Config) -> str:
    if value == "-":
        return sys.stdin.readline().strip()
    if value:
        return value.strip()
    return config.require("api_key")


@app.command("validate")
def validate(
    key: Annotated[
        str | None, typer.Option("--key", "-k", help="the key, or - to read it from stdin [HOKUSAI_API_KEY / profile]")
    ] = None,
    service: Annotated[str | None, typer.Option("--service", "-s", help="check it is for this service")] = None,
    scope: Annotated[str | None, typer.Option("--scope", help="check it has this scope")] = None,
    environment: Annotated[str | None, typer.Option(help="check it is for this environment")] = None,
    fmt: FormatOpt = Format.table,
    profile: ProfileOpt = None,
    url: UrlOpt = None,
) -> None:
    """Check an API key: its format offline first, then with the service (spending none of its rate limit)."""
    with reported():
        config = resolve(profile, auth_service_url=url)
        candidate = _read_key(key, config)
        with AuthClient(config=config) as client:
            result = client.validate_key(
                candidate, service_id=service, required_scope=scope, environment=environment, cost=0
            )
        if fmt is Format.json:
            output.print_json(result)
        elif result.checked_offline:
            output.error(f"{result.detail} (not sent to the service)")
        else:
            output.validation(result)
        if not result.is_valid:
            raise typer.Exit(7 if result.status == 429 else 1)


@app.command("login")
def login(
    url: UrlOpt = None,
    admin_token: Annotated[
        bool, typer.Option("--admin-token", help="store an admin token (asked, or read from stdin)")
    ] = False,
    api_key: Annotated[bool, typer.Option("--api-key", help="store an API key (asked, or read from stdin)")] = False,
    verify: Annotated[bool, typer.Option(help="check the credential with the service before saving")] = True,
    profile: ProfileOpt = None,
) -> None:
    """Save the service URL and a credential in ~/.hokusai/config (mode 0600)."""
    from hokusai.cli._login import run_login

    with reported():
        run_login(url=url, admin_token=admin_token, api_key=api_key, verify=verify, profile=profile)


@app.command("logout")
def logout(profile: ProfileOpt = None) -> None:
    """Remove the stored credentials of a profile (its URL stays)."""
    from hokusai.cli._login import run_logout

    with reported():
        run_logout(profile)


@app.command("whoami")
def whoami(fmt: FormatOpt = Format.table, profile: ProfileOpt = None, url: UrlOpt = None) -> None:
    """Which service and credentials are configured, where they come from, and whether they work."""
    from hokusai.cli._whoami import run_whoami

    with reported():
        code = run_whoami(profile=profile, url=url, fmt=fmt)
    raise typer.Exit(code)
