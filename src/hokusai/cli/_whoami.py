"""``hokusai auth whoami``: what is configured, where each setting comes from, and whether it works.

A wallet session (``login --wallet``) counts as a credential: it is checked with ``GET /auth/me`` (refreshed
first when its access token has expired), which also says who is signed in. Exit 0 when every configured
credential works, 3 when none is configured, 4 when one is refused, 8 when the service cannot be reached.
"""

from __future__ import annotations

from typing import Any

from rich.markup import escape
from rich.table import Table

from hokusai._client import AuthClient
from hokusai._config import resolve
from hokusai._errors import HokusaiError, ServiceUnavailableError
from hokusai._mlflow_settings import resolve_mlflow_settings
from hokusai.cli import _output as output
from hokusai.cli._failures import exit_code
from hokusai.cli._output import Format

CREDENTIALS = ("admin_token", "api_key", "session")


def _check_admin(client: AuthClient) -> dict[str, Any]:
    try:
        client.list_keys(limit=1)
    except HokusaiError as error:
        return {"works": False, "problem": error.message, "exit": exit_code(error)}
    return {"works": True}


def _check_key(client: AuthClient, key: str) -> dict[str, Any]:
    try:
        result = client.validate_key(key, cost=0)
    except HokusaiError as error:
        return {"works": False, "problem": error.message, "exit": exit_code(error)}
    if not result.is_valid:
        return {"works": False, "problem": f"{result.error} ({result.code})", "exit": 7 if result.status == 429 else 4}
    return {"works": True, "key_id": result.key_id, "service_id": result.service_id,
            "environment": result.environment, "scopes": result.scopes, "user_id": result.user_id}  # fmt: skip


def _check_session(client: AuthClient) -> dict[str, Any]:
    try:
        user = client.me()  # refreshes the session first when its access token has expired
    except HokusaiError as error:
        return {"works": False, "problem": error.message, "exit": exit_code(error)}
    session = client.session
    expires = session.expires_at if session else None
    return {"works": True, "user_id": user.id, "wallet_address": user.wallet_address, "is_active": user.is_active,
            "access_token_expires_at": expires.isoformat().replace("+00:00", "Z") if expires else None}  # fmt: skip


def run_whoami(*, profile: str | None, url: str | None, fmt: Format) -> int:
    config = resolve(profile, auth_service_url=url)
    report: dict[str, Any] = {
        "profile": config.profile,
        "config_file": str(config.config_file),
        "auth_service_url": config.auth_service_url,
        "auth_service_url_source": config.source("auth_service_url"),
    }
    with AuthClient(config=config) as client:
        try:
            report["reachable"] = client.health()
        except ServiceUnavailableError as error:
            report["reachable"], report["problem"] = False, error.message
        if config.admin_token:
            report["admin_token"] = {"source": config.source("admin_token")}
            if report["reachable"]:
                report["admin_token"] |= _check_admin(client)
        if config.api_key:
            report["api_key"] = {"prefix": config.api_key[:11] + "***", "source": config.source("api_key")}
            if report["reachable"]:
                report["api_key"] |= _check_key(client, config.api_key)
        if config.session is not None:
            report["session"] = {"user_id": config.session.user_id, "wallet_address": config.session.wallet_address,
                                 "source": config.source("session")}  # fmt: skip
            if report["reachable"]:
                report["session"] |= _check_session(client)
    report["mlflow"] = _mlflow(profile)
    code = _exit(report)
    for credential in CREDENTIALS:
        report.get(credential, {}).pop("exit", None)
    if fmt is Format.json:
        output.print_json(report)
    else:
        _show(report)
    if code:
        output.error(_summary(report))
    return code


def _mlflow(profile: str | None) -> dict[str, Any]:
    """Where the SDK's model registry would go, and why (nothing is contacted)."""
    try:
        settings = resolve_mlflow_settings(profile=profile)
    except HokusaiError as error:
        return {"problem": error.message}
    return {"tracking_uri": settings.safe_tracking_uri, "source": settings.tracking_uri_source}


def _summary(report: dict[str, Any]) -> str:
    if not report["reachable"]:
        return str(report.get("problem", "the service is unreachable"))
    refused = [(name, report[name]) for name in CREDENTIALS if not report.get(name, {}).get("works", 1)]
    if refused:
        name, entry = refused[0]
        what = {"admin_token": "admin token", "session": f"session of {entry.get('wallet_address')}"}.get(
            name, f"API key {entry.get('prefix')}"
        )
        return f"the {what} from {entry['source']} was refused: {entry['problem']}"
    return "no credential configured: run `hokusai auth login`"


def _exit(report: dict[str, Any]) -> int:
    if not report["reachable"]:
        return 8
    credentials = [report[name] for name in CREDENTIALS if name in report]
    if not credentials:
        return 3
    failures = [c.get("exit", 4) for c in credentials if not c.get("works")]
    return failures[0] if failures else 0


def _show(report: dict[str, Any]) -> None:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    table.add_row("Profile", f"{report['profile']} ({escape(report['config_file'])})")
    reach = "[green]reachable[/]" if report["reachable"] else f"[red]unreachable[/] {escape(report.get('problem', ''))}"
    table.add_row("Service", f"{escape(report['auth_service_url'])}  {reach}")
    table.add_row("", f"[dim]from {escape(report['auth_service_url_source'])}[/]")
    for name, label in (("admin_token", "Admin token"), ("api_key", "API key")):
        entry = report.get(name)
        if entry is None:
            table.add_row(label, "[dim]not configured[/]")
            continue
        shown = entry.get("prefix", "set")
        if "works" not in entry:
            status = "[yellow]not checked[/]"
        elif entry["works"]:
            status = "[green]works[/]"
            if name == "api_key":
                scopes = ", ".join(entry["scopes"]) or "all scopes"
                status += f": key {entry['key_id']}, {entry['service_id']}, {entry['environment']}, {escape(scopes)}"
        else:
            status = f"[red]refused[/]: {escape(entry['problem'])}"
        table.add_row(label, f"{shown}  {status}")
        table.add_row("", f"[dim]from {escape(entry['source'])}[/]")
    _show_session(table, report.get("session"))
    mlflow = report["mlflow"]
    if "problem" in mlflow:
        table.add_row("MLflow", f"[red]{escape(mlflow['problem'])}[/]")
    else:
        table.add_row("MLflow", escape(mlflow["tracking_uri"]))
        table.add_row("", f"[dim]from {escape(mlflow['source'])}[/]")
        if mlflow["source"].startswith("default"):
            table.add_row("", "[dim]another: HOKUSAI_API_ENDPOINT (your gateway), MLFLOW_TRACKING_URI, or "
                              "`hokusai auth login --api-endpoint URL`[/]")  # fmt: skip
    output.stdout().print(table)


def _show_session(table: Table, entry: dict[str, Any] | None) -> None:
    if entry is None:
        table.add_row("Signed in", "[dim]no (`hokusai auth login --wallet KEYSTORE`)[/]")
        return
    who = f"user {entry['user_id']}, wallet {entry['wallet_address'] or '-'}"
    if "works" not in entry:
        status = "[yellow]not checked[/]"
    elif entry["works"]:
        status = "[green]works[/]"
    else:
        status = f"[red]refused[/]: {escape(entry['problem'])}"
    table.add_row("Signed in", f"{escape(who)}  {status}")
    table.add_row("", f"[dim]session from {escape(entry['source'])}[/]")
