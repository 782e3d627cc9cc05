"""``hokusai auth ...``: manage and check API keys without reading HTTP.

Every command resolves its settings like the SDK (flags, then the environment, then the profile), talks to the
service through ``AuthClient``, prints a table or JSON, and fails with one line and a documented exit code.
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Annotated, Any

import typer

from hokusai._client import AuthClient
from hokusai._config import DEFAULT_PROFILE, Config, environment_names, resolve
from hokusai._errors import AuthenticationError, ConfigurationError, ConflictError
from hokusai._keys import looks_like_key
from hokusai._vocabulary import MLFLOW_MOUNT, Environment, ErrorCode, Plan, Service, choices
from hokusai.cli import _complete as complete
from hokusai.cli import _output as output
from hokusai.cli._failures import fail, reported
from hokusai.cli._output import Format

app = typer.Typer(
    help="Create, list, check, rotate and revoke Hokusai API keys; sign in with a wallet.",
    no_args_is_help=True,
    rich_markup_mode=None,
)

# Metavars say what a value is (click's plain help shows them as `--name NAME`); flags have none.
ProfileOpt = Annotated[
    str | None,
    typer.Option("--profile", "-p", metavar="PROFILE",
                 help="profile of ~/.hokusai/config (default: HOKUSAI_PROFILE or default)"),
]  # fmt: skip
UrlOpt = Annotated[
    str | None,
    typer.Option(
        "--url",
        metavar="URL",
        help="auth service URL (default: HOKUSAI_AUTH_SERVICE_URL, the profile, http://127.0.0.1:8000)",
    ),
]
FormatOpt = Annotated[
    Format, typer.Option("--format", "-f", metavar="table|json", help="table for people, json for scripts")
]
KeyIdArg = Annotated[
    str,
    typer.Argument(metavar="KEY_ID", help="the key's id (a UUID, as list-keys shows it)", show_default=False,
                   autocompletion=complete.key_ids),
]  # fmt: skip


def _service_option(help_text: str) -> Any:
    return typer.Option("--service", "-s", metavar="SERVICE", help=help_text, autocompletion=complete.services)


@contextmanager
def _key_client(profile: str | None, url: str | None) -> Iterator[AuthClient]:
    """A client for the key commands: the admin token (every key) when there is one, else the profile's signed-in
    session (the user's own keys), refreshed and stored again as it needs."""
    config = resolve(profile, auth_service_url=url)
    if not config.admin_token and config.session is None:
        named = f" --profile {config.profile}" if config.profile != DEFAULT_PROFILE else ""
        raise ConfigurationError(
            f"no admin token configured and not signed in: set {environment_names('admin_token')}, run "
            f"`hokusai auth login --admin-token{named}`, or sign in with `hokusai auth login --wallet KEYSTORE{named}`"
        )
    with AuthClient(config=config) as client:
        try:
            yield client
        except AuthenticationError as error:
            if config.admin_token and error.code == ErrorCode.UNAUTHORIZED:
                # Say which token was refused: there may be several (flag, environment, profiles).
                raise fail(
                    f"{error.message}: the admin token from {config.source('admin_token')} was refused by "
                    f"{config.auth_service_url}; check it, or store another with `hokusai auth login --admin-token`",
                    4,
                ) from None
            if config.admin_token or "hokusai auth login --wallet" in error.message:
                raise
            wallet = config.session.wallet_address if config.session else None
            raise fail(f"{error.message} (the session of {wallet or 'the user'} from {config.source('session')}); "
                       "run `hokusai auth login --wallet KEYSTORE`", 4) from None  # fmt: skip


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
    name: Annotated[str, typer.Option("--name", "-n", metavar="NAME", help="what the key is for (1-100 characters)")],
    service: Annotated[str, _service_option(f"{choices(Service)} (aliases ok)")] = Service.PLATFORM.value,
    environment: Annotated[
        str, typer.Option(metavar="ENV", help=choices(Environment), autocompletion=complete.environments)
    ] = Environment.PRODUCTION.value,
    scope: Annotated[
        list[str] | None,
        typer.Option(
            "--scope",
            metavar="SCOPE",
            help="a scope; repeat for several (none: full access)",
            autocompletion=complete.scopes,
        ),
    ] = None,
    rate_limit: Annotated[
        int | None, typer.Option("--rate-limit", metavar="N", help="requests per hour, 10-100000 [1000]")
    ] = None,
    burst: Annotated[int | None, typer.Option(metavar="N", help="most requests at once [the hourly limit]")] = None,
    monthly_prediction_limit: Annotated[
        int | None, typer.Option(metavar="N", help="predictions per month [no limit]")
    ] = None,
    expires_in_days: Annotated[
        int | None, typer.Option("--expires-in-days", metavar="DAYS", help="1-365 [never]")
    ] = None,
    allowed_ip: Annotated[
        list[str] | None,
        typer.Option("--allowed-ip", metavar="IP", help="an address or CIDR allowed to use the key; repeat"),
    ] = None,
    billing_plan: Annotated[str | None, typer.Option(metavar="PLAN", help=f"{choices(Plan)} [{Plan.FREE}]")] = None,
    user_id: Annotated[str | None, typer.Option(metavar="USER", help="the key's owner [admin]")] = None,
    fmt: FormatOpt = Format.table,
    profile: ProfileOpt = None,
    url: UrlOpt = None,
) -> None:
    """Create an API key. The key is shown once: store it right away.

    \b
    Examples:
      hokusai auth create-key --name "my notebook" --scope read --scope model:write
      hokusai auth create-key --name ci --service prediction --expires-in-days 90
      KEY=$(hokusai auth create-key --name ci -f json | jq -r .api_key)
    """
    with reported(), _key_client(profile, url) as client:
        created = client.create_key(
            name, service, scopes=scope, environment=environment, expires_in_days=expires_in_days,
            rate_limit_per_hour=rate_limit, burst=burst, monthly_prediction_limit=monthly_prediction_limit,
            allowed_ips=allowed_ip, billing_plan=billing_plan, user_id=user_id,
        )  # fmt: skip
        output.show(created, fmt, lambda: output.new_key(created, title="New API key"))


@app.command("list-keys")
def list_keys(
    service: Annotated[str | None, _service_option("only this service")] = None,
    user_id: Annotated[str | None, typer.Option(metavar="USER", help="only this owner")] = None,
    active_only: Annotated[bool, typer.Option("--active-only", help="only keys usable now")] = False,
    limit: Annotated[int, typer.Option(metavar="N", help="keys per page (1-1000)")] = 100,
    all_pages: Annotated[bool, typer.Option("--all", help="follow every page")] = False,
    fmt: FormatOpt = Format.table,
    profile: ProfileOpt = None,
    url: UrlOpt = None,
) -> None:
    """List API keys, newest first. The table fits the terminal; --format json has every field.

    \b
    Examples:
      hokusai auth list-keys --active-only
      hokusai auth list-keys --service prediction --all -f json | jq -r '.[].key_id'
    """
    with reported(), _key_client(profile, url) as client:
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
    """Show one API key's settings and state.

    \b
    Example:
      hokusai auth get-key 0b8e6a52-3c1f-4d0e-9a77-5f1c2d3e4f50
    """
    key_id = _key_id(key_id)
    with reported(), _key_client(profile, url) as client:
        key = client.get_key(key_id)
        if fmt is Format.json:
            output.print_json(key)
            return
        successor = client.get_key(key.rotated_to) if key.rotated_to and not key.is_active else None
        output.key_details(key, title=f"API key {key.key_prefix}", successor=successor)


@app.command("update-key")
def update_key(
    key_id: KeyIdArg,
    name: Annotated[str | None, typer.Option("--name", "-n", metavar="NAME")] = None,
    scope: Annotated[
        list[str] | None,
        typer.Option("--scope", metavar="SCOPE", help="replaces the scopes; repeat", autocompletion=complete.scopes),
    ] = None,
    all_scopes: Annotated[bool, typer.Option("--all-scopes", help="remove every scope: full access")] = False,
    rate_limit: Annotated[int | None, typer.Option("--rate-limit", metavar="N")] = None,
    burst: Annotated[int | None, typer.Option(metavar="N")] = None,
    monthly_prediction_limit: Annotated[int | None, typer.Option(metavar="N")] = None,
    allowed_ip: Annotated[
        list[str] | None, typer.Option("--allowed-ip", metavar="IP", help="replaces the allowlist; repeat")
    ] = None,
    any_ip: Annotated[bool, typer.Option("--any-ip", help="remove the allowlist")] = False,
    billing_plan: Annotated[str | None, typer.Option(metavar="PLAN")] = None,
    fmt: FormatOpt = Format.table,
    profile: ProfileOpt = None,
    url: UrlOpt = None,
) -> None:
    """Change an API key's settings; every instance applies the change within a second.

    \b
    Examples:
      hokusai auth update-key KEY_ID --rate-limit 5000
      hokusai auth update-key KEY_ID --scope read --any-ip
    """
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
    with reported(), _key_client(profile, url) as client:
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
    """Revoke an API key at once, on every instance. This cannot be undone.

    \b
    Examples:
      hokusai auth revoke-key KEY_ID          # asks first
      hokusai auth revoke-key KEY_ID --yes    # in a script
    """
    key_id = _key_id(key_id)
    with reported(), _key_client(profile, url) as client:
        key = client.get_key(key_id)
        if not key.is_active and key.revoked_at is not None:
            # Nothing to do, and nothing to confirm: say so rather than "Revoked" a second time.
            if fmt is Format.json:
                output.print_json({"message": "API key already revoked", "key_id": key_id, "already_revoked": True,
                                   "revoked_at": key.revoked_at})  # fmt: skip
            else:
                output.stdout().print(f"'{key.name}' ({key.key_prefix}) was already revoked on "
                                      f"{key.revoked_at:%Y-%m-%d %H:%M} UTC; nothing to do.", markup=False)  # fmt: skip
            return
        if not yes:
            if not sys.stdin.isatty():
                raise fail("refusing to revoke without confirmation: pass --yes", 2)
            question = f"Revoke '{key.name}' ({key.key_prefix}, {key.service_id})? It stops working at once, for good."
            if not typer.confirm(question, default=False):
                raise fail("not revoked", 1)
        message = client.revoke_key(key_id)
        if fmt is Format.json:
            output.print_json({"message": message, "key_id": key_id, "already_revoked": False})
        else:
            output.stdout().print(
                f"Revoked '{key.name}' ({key.key_prefix}): it no longer works anywhere.", markup=False
            )


@app.command("rotate-key")
def rotate_key(
    key_id: KeyIdArg,
    grace_period: Annotated[
        int | None,
        typer.Option("--grace-period", metavar="SECONDS", help="seconds the old key keeps working, 0-604800 [0]"),
    ] = None,
    fmt: FormatOpt = Format.table,
    profile: ProfileOpt = None,
    url: UrlOpt = None,
) -> None:
    """Replace an API key with a new one that has the same settings.

    \b
    Examples:
      hokusai auth rotate-key KEY_ID                       # the old key stops now
      hokusai auth rotate-key KEY_ID --grace-period 3600   # the old key works one more hour
    """
    key_id = _key_id(key_id)
    with reported(), _key_client(profile, url) as client:
        try:
            created = client.rotate_key(key_id, grace_period_seconds=grace_period)
        except ConflictError as error:
            newer = client.get_key(key_id).rotated_to if error.code == ErrorCode.ALREADY_ROTATED else None
            if newer is None:
                raise
            raise fail(f"{error.message}: its replacement is {newer}; rotate that one "
                       f"(`hokusai auth rotate-key {newer}`)", 6) from None  # fmt: skip
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
    return config.require("api_key", give="--key")


@app.command("validate")
def validate(
    key: Annotated[
        str | None,
        typer.Option(
            "--key", "-k", metavar="KEY", help="the key, or - to read it from stdin [HOKUSAI_API_KEY / profile]"
        ),
    ] = None,
    service: Annotated[str | None, _service_option("check it is for this service")] = None,
    scope: Annotated[
        str | None,
        typer.Option("--scope", metavar="SCOPE", help="check it has this scope", autocompletion=complete.scopes),
    ] = None,
    environment: Annotated[
        str | None,
        typer.Option(metavar="ENV", help="check it is for this environment", autocompletion=complete.environments),
    ] = None,
    fmt: FormatOpt = Format.table,
    profile: ProfileOpt = None,
    url: UrlOpt = None,
) -> None:
    """Check an API key: its format offline first, then with the service (spending none of its rate limit).

    \b
    Examples:
      hokusai auth validate --key -                 # paste the key, then Enter
      hokusai auth validate --service platform --scope mlflow:write   # the configured key
    """
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
    wallet: Annotated[
        str | None,
        typer.Option(
            "--wallet",
            metavar="KEYSTORE",
            help="sign in with an Ethereum keystore file (its password asked, or read from stdin); needs "
            "pip install 'hokusai-ml-platform[wallet]'",
        ),
    ] = None,
    web: Annotated[
        bool,
        typer.Option("--web", help="sign in with the browser: approve a one-time code on the Hokusai dashboard"),
    ] = False,
    browser: Annotated[
        bool, typer.Option("--browser/--no-browser", help="with --web, open the URL in a browser")
    ] = True,
    api_endpoint: Annotated[
        str | None,
        typer.Option(
            "--api-endpoint",
            metavar="URL",
            help=f"also save the Hokusai API endpoint (the gateway; the SDK's MLflow is <it>{MLFLOW_MOUNT})",
        ),
    ] = None,
    verify: Annotated[bool, typer.Option(help="check the credential with the service before saving")] = True,
    profile: ProfileOpt = None,
) -> None:
    """Save the service URL and a credential in ~/.hokusai/config (mode 0600), or sign in with a wallet or the browser.

    --web shows a one-time code and a URL: open it where you are signed in to the Hokusai dashboard and approve
    the code; this command waits for that (10 minutes at most). With --wallet or --web the session (a refresh
    token, and an access token that it renews) is saved instead of a credential; later commands refresh it
    silently and store each new pair. Refresh tokens are single-use: commands on this machine take turns, but a
    copy of the config file used elsewhere ends the session at its first refresh.

    \b
    Examples:
      hokusai auth login --url https://auth.hokus.ai --admin-token
      echo "$KEY" | hokusai auth login --url https://auth.hokus.ai --api-key --api-endpoint https://gw.example.com
      hokusai auth login --url https://auth.hokus.ai --wallet ~/.ethereum/keystore/UTC--2024...json
      hokusai auth login --url https://auth.hokus.ai --web
    """
    from hokusai.cli._login import run_login, run_wallet_login, run_web_login

    with reported():
        if web:
            if admin_token or api_key or wallet is not None:
                raise fail("choose one of --web, --wallet, --admin-token and --api-key", 2)
            run_web_login(url=url, profile=profile, api_endpoint=api_endpoint, open_browser=browser)
            return
        if wallet is not None:
            if admin_token or api_key:
                raise fail("choose one of --wallet, --admin-token and --api-key", 2)
            run_wallet_login(url=url, keystore=wallet, profile=profile, api_endpoint=api_endpoint)
            return
        run_login(url=url, admin_token=admin_token, api_key=api_key, verify=verify, profile=profile,
                  api_endpoint=api_endpoint)  # fmt: skip


@app.command("logout")
def logout(profile: ProfileOpt = None) -> None:
    """Remove the stored credentials of a profile (its URLs stay); a wallet session is ended at the service first.

    \b
    Example:
      hokusai auth logout --profile staging
    """
    from hokusai.cli._login import run_logout

    with reported():
        run_logout(profile)


@app.command("token")
def token(profile: ProfileOpt = None) -> None:
    """Print the configured API key, for tools that take it from a variable (like `gh auth token`).

    \b
    Example:
      export MLFLOW_TRACKING_TOKEN="$(hokusai auth token)"
    """
    with reported():
        key = resolve(profile).require("api_key", give=None)
    sys.stdout.write(key + "\n")


@app.command("whoami")
def whoami(fmt: FormatOpt = Format.table, profile: ProfileOpt = None, url: UrlOpt = None) -> None:
    """Which service, credentials and MLflow URL are configured, where each comes from, and whether they work.

    \b
    Examples:
      hokusai auth whoami
      hokusai auth whoami --profile staging -f json
    """
    from hokusai.cli._whoami import run_whoami

    with reported():
        code = run_whoami(profile=profile, url=url, fmt=fmt)
    raise typer.Exit(code)
