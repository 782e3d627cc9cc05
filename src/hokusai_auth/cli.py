"""``hokusai-auth``: run the service (``serve``), migrate its database (``migrate``), rotate the key that signs
access tokens (``rotate-signing-key``), check and export the audit log (``audit verify``, ``audit export``)."""

from __future__ import annotations

import asyncio
import enum
import shlex
import sys
import typing
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError

from hokusai._vocabulary import Service
from hokusai_auth import bootstrap, logs
from hokusai_auth.db import migrate as migrations
from hokusai_auth.settings import Settings

T = typing.TypeVar("T")
cli = typer.Typer(help="Hokusai Auth: the API key and identity service.", no_args_is_help=True, add_completion=False)


def _load_settings() -> tuple[Settings, bootstrap.FirstStart | None]:
    try:
        return bootstrap.prepare(Settings())
    except ValidationError as exc:
        problems = "; ".join(
            f"{'/'.join(str(p) for p in err['loc']).upper()}: {err['msg']}" for err in exc.errors(include_input=False)
        )
        typer.echo(f"hokusai-auth: invalid configuration: {problems}", err=True)
        raise typer.Exit(2) from None
    except bootstrap.ConfigurationError as exc:
        typer.echo(f"hokusai-auth: {exc}", err=True)
        raise typer.Exit(2) from None


def _describe_database(url: str) -> str:
    if url.startswith("sqlite"):
        return "SQLite " + url.split("///", 1)[-1]
    return "PostgreSQL"  # never print a URL that may carry a password


def _banner(settings: Settings, first: bootstrap.FirstStart | None, host: str, port: int) -> str:
    shown_host = "127.0.0.1" if host in ("0.0.0.0", "::") else host  # noqa: S104 - only for display
    base = f"http://{shown_host}:{port}"
    lines = [
        f"Hokusai Auth on {base} ({_describe_database(settings.require_database_url())})",
        f"Dashboard: {base}/dashboard · API docs: {base}/docs",
    ]
    if first is not None:
        token = first.admin_token
        body = f'{{"name": "my first key", "service_id": "{Service.PLATFORM}"}}'
        lines += [
            "",
            f"First start: generated an admin token and a secret key in {first.secrets_path} (mode 0600).",
            "Admin token (shown only this once; it stays in that file):",
            "",
            f"    {token}",
            "",
            "Create your first API key:",
            "",
            f"    curl -s -X POST {base}/api/v1/keys -H {shlex.quote('Authorization: Bearer ' + token)} \\",
            f"      -H 'Content-Type: application/json' -d {shlex.quote(body)}",
            "",
            f"Or open the dashboard, {base}/dashboard, and sign in with that token (or a browser wallet).",
            "",
        ]
    elif settings.data_dir is not None and not settings.production:
        lines.append(f"Admin token: $ADMIN_TOKEN, or admin_token in {settings.data_dir / bootstrap.SECRETS_FILE}")
    return "\n".join(lines)


def _announce_when_ready(banner: str, host: str, port: int, *, within_s: float = 120.0) -> None:
    """Print ``banner`` once the server accepts connections (uvicorn binds after the application started): after
    the migrations' and uvicorn's log lines, so the admin token and the first curl line are the last thing on the
    screen, not lost among them. A connection that sends nothing is not a request: no access line follows. A
    start that fails never prints it (the token stays in the secrets file)."""
    import socket
    import threading
    import time

    probe_host = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)  # noqa: S104 - a wildcard bind, probed locally

    def wait_then_print() -> None:
        deadline = time.monotonic() + within_s
        while time.monotonic() < deadline:
            try:
                socket.create_connection((probe_host, port), timeout=1).close()
            except OSError:
                time.sleep(0.05)
                continue
            time.sleep(0.05)  # uvicorn logs "running on" just after it binds
            sys.stderr.flush()
            typer.echo(f"\n{banner}\n")
            sys.stdout.flush()
            return

    threading.Thread(target=wait_then_print, name="banner", daemon=True).start()


@cli.command()
def serve(
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port to listen on", min=1, max=65535)] = 8000,
    workers: Annotated[int, typer.Option(help="worker processes (use REDIS_URL to share state)", min=1)] = 1,
    migrate: Annotated[bool, typer.Option(help="apply database migrations before starting")] = True,
) -> None:
    """Run the service. With no configuration: SQLite and generated secrets in the data directory."""
    import uvicorn

    from hokusai_auth.web.server import GuardedHttpToolsProtocol

    settings, first = _load_settings()
    logs.configure(settings.log_level, settings.log_format)
    if migrate:
        asyncio.run(migrations.upgrade(settings.require_database_url()))
    _announce_when_ready(_banner(settings, first, host, port), host, port)
    uvicorn.run(
        "hokusai_auth.asgi:app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_config=None,
        access_log=False,  # uvicorn's access line carries the query string, which may carry a key
        server_header=False,
        proxy_headers=False,  # client addresses are resolved against TRUSTED_PROXIES by the app itself
        timeout_graceful_shutdown=10,
        http=GuardedHttpToolsProtocol,  # limits on slow and oversized requests (web/server.py)
    )


@cli.command()
def gateway(
    mlflow_upstream: Annotated[
        str | None, typer.Option(help="MLflow tracking server, e.g. http://127.0.0.1:5000")
    ] = None,
    prediction_upstream: Annotated[str | None, typer.Option(help="prediction API base URL")] = None,
    auth_service_url: Annotated[
        str | None, typer.Option(help="validate over HTTP at this auth service (default: in-process, same database)")
    ] = None,
    mlflow_static_prefix: Annotated[str, typer.Option(help="the --static-prefix MLflow runs with, if any")] = "",
    prediction_route: Annotated[
        list[str] | None,
        typer.Option(help="prediction API route template for usage labels, e.g. /models/{model}/predict (repeatable)"),
    ] = None,
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port to listen on", min=1, max=65535)] = 8080,
    workers: Annotated[int, typer.Option(help="worker processes", min=1)] = 1,
    upstream_timeout: Annotated[float, typer.Option(help="seconds an upstream may take to answer", min=0.1)] = 60.0,
    auth_cache_ttl: Annotated[
        float, typer.Option(help="seconds a successful remote validation is reused", min=0)
    ] = 2.0,
) -> None:
    """Put MLflow and/or the prediction API behind Hokusai API keys.

    Usage reports over HTTP need a service token in HOKUSAI_GATEWAY_SERVICE_TOKEN (one of the service's
    SERVICE_TOKENS); in-process gateways record usage directly.
    """
    import os

    import uvicorn

    from hokusai_auth.gateway.config import GatewayConfig, parse_prediction_routes
    from hokusai_auth.gateway.routing import Upstream
    from hokusai_auth.web.server import GuardedHttpToolsProtocol

    try:
        config = GatewayConfig(
            mlflow_upstream=mlflow_upstream,
            prediction_upstream=prediction_upstream,
            auth_service_url=auth_service_url,
            mlflow_static_prefix=mlflow_static_prefix.rstrip("/"),
            prediction_routes=(
                tuple(prediction_route)
                if prediction_route
                else parse_prediction_routes(os.environ.get("HOKUSAI_GATEWAY_PREDICTION_ROUTES"))
            ),
            upstream_timeout=upstream_timeout,
            auth_cache_ttl=auth_cache_ttl,
        )
    except ValueError as exc:
        typer.echo(f"hokusai-auth gateway: {exc}", err=True)
        raise typer.Exit(2) from None
    if auth_service_url is None:
        _load_settings()  # same checks and embedded default as the service: fail here, not in a worker
    os.environ.update(config.to_env())
    settings = Settings()
    logs.configure(settings.log_level, settings.log_format)
    mode = f"validating at {auth_service_url}" if auth_service_url else "validating in-process"
    named = (("MLflow", mlflow_upstream), (Upstream.PREDICTION.value, prediction_upstream))
    upstreams = ", ".join(f"{name} → {url}" for name, url in named if url)
    typer.echo(f"Hokusai gateway on http://{host}:{port} ({upstreams}; {mode})")
    uvicorn.run(
        "hokusai_auth.gateway.asgi:app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_config=None,
        access_log=False,
        server_header=False,
        proxy_headers=False,
        timeout_graceful_shutdown=30,
        http=GuardedHttpToolsProtocol,
    )


@cli.command()
def migrate(
    revision: Annotated[str, typer.Option(help="target revision")] = "head",
    downgrade: Annotated[bool, typer.Option(help="migrate down to --revision instead of up")] = False,
) -> None:
    """Apply (or with --downgrade, undo) database migrations."""
    settings, _ = _load_settings()
    url = settings.require_database_url()
    if downgrade:
        asyncio.run(migrations.downgrade(url, revision))
    else:
        asyncio.run(migrations.upgrade(url, revision))
    current = asyncio.run(migrations.current_revision(url))
    typer.echo(f"database at revision {current or 'base'} ({_describe_database(url)})")


@cli.command("rotate-signing-key")
def rotate_signing_key() -> None:
    """Sign access tokens with a new key. The previous key stays published (JWKS) until every token it signed
    has expired; running instances switch to the new key within a reload interval."""
    from hokusai_auth.clock import SystemClock
    from hokusai_auth.db.engine import open_database
    from hokusai_auth.signing.keyring import RELOAD_INTERVAL_S, Rotation, SigningKeyError, SigningKeyRing, UnsealError

    settings, _ = _load_settings()
    url = settings.require_database_url()

    async def rotate() -> Rotation:
        database = open_database(url)
        try:
            keyring = SigningKeyRing(database, settings.require_secret_key(), SystemClock(), settings.access_token_ttl)
            await keyring.load()  # first: a SECRET_KEY that cannot open the current key must not add one
            return await keyring.rotate()
        finally:
            await database.dispose()

    try:
        rotation = asyncio.run(rotate())
    except (UnsealError, SigningKeyError) as exc:
        typer.echo(f"hokusai-auth: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"new signing key {rotation.kid} ({_describe_database(url)})")
    if rotation.retired_published_until is not None:
        until = rotation.retired_published_until.replace(microsecond=0).isoformat().replace("+00:00", "Z")
        typer.echo(
            f"retired {', '.join(rotation.retired)}: published until {until} "
            f"(ACCESS_TOKEN_TTL {settings.access_token_ttl} s, plus time for every instance to switch; "
            f"running instances sign with the new key within {RELOAD_INTERVAL_S:.0f} s)"
        )


class OutputFormat(enum.StrEnum):
    table = "table"
    json = "json"


@cli.command()
def outbox(
    failed: Annotated[bool, typer.Option("--failed", help="only failed messages")] = False,
    retry: Annotated[
        list[str] | None, typer.Option("--retry", metavar="ID", help="make this message pending again (repeatable)")
    ] = None,
    retry_failed: Annotated[
        bool, typer.Option("--retry-failed", help="make every failed message pending again")
    ] = False,
    output: Annotated[OutputFormat, typer.Option("--format", help="table for people, json for scripts")] = (
        OutputFormat.table
    ),
) -> None:
    """List mail waiting to be sent (pending) or given up on (failed), or retry it. Bodies are never shown.

    A retried message is due at once with fresh attempts; a running service sends it within MAIL_SEND_INTERVAL."""
    import json

    from hokusai_auth.db.engine import open_database
    from hokusai_auth.mail import queue

    settings, _ = _load_settings()
    url = settings.require_database_url()
    try:
        ids = [uuid.UUID(value) for value in retry or ()]
    except ValueError:
        typer.echo("hokusai-auth outbox: --retry takes a message id (a UUID, as the listing shows it)", err=True)
        raise typer.Exit(2) from None
    if ids or retry_failed:
        _outbox_retry(url, ids, retry_failed, output)
        return

    async def listing() -> list[queue.Listed]:
        database = open_database(url)
        try:
            async with database.reader() as session:
                return await queue.listing(session, ("failed",) if failed else queue.LISTED_STATUSES)
        finally:
            await database.dispose()

    rows = [item.to_json() for item in asyncio.run(listing())]
    if output is OutputFormat.json:
        typer.echo(json.dumps(rows, indent=2, ensure_ascii=False))
    elif not rows:
        typer.echo("no failed mail" if failed else "no pending or failed mail")
    else:
        from rich.console import Console
        from rich.table import Table

        table = Table("id", "created", "kind", "recipient", "status", "attempts", "next attempt", "last error")
        for row in rows:
            table.add_row(*("" if value is None else str(value) for value in row.values()))
        Console(soft_wrap=False, highlight=False, width=None if sys.stdout.isatty() else 250).print(table)


def _outbox_retry(url: str, ids: list[uuid.UUID], retry_failed: bool, output: OutputFormat) -> None:
    import json

    from hokusai_auth.clock import SystemClock
    from hokusai_auth.db.engine import open_database
    from hokusai_auth.mail import queue

    async def make_pending() -> list[uuid.UUID]:
        database = open_database(url)
        try:
            async with database.writer.begin() as session:
                now = SystemClock().now()
                changed = await queue.retry(session, now, ids) if ids else []
                if retry_failed:
                    changed += await queue.retry(session, now, all_failed=True)
                return changed
        finally:
            await database.dispose()

    changed = [str(item) for item in asyncio.run(make_pending())]
    unknown = sorted({str(item) for item in ids} - set(changed))
    if output is OutputFormat.json:
        typer.echo(json.dumps({"retried": changed, "not_retried": unknown}, indent=2))
    else:
        typer.echo(f"{len(changed)} message(s) pending again" + "".join(f"\n  {item}" for item in changed))
    if unknown:
        typer.echo(f"hokusai-auth outbox: not pending or failed: {', '.join(unknown)}", err=True)
        raise typer.Exit(1)


audit_cli = typer.Typer(help="The audit log: check its hash chain, export it.", no_args_is_help=True)
cli.add_typer(audit_cli, name="audit")
EXPORT_PROGRESS_EVERY = 10_000


@audit_cli.command("verify")
def audit_verify(
    output: Annotated[OutputFormat, typer.Option("--format", help="table for people, json for scripts")] = (
        OutputFormat.table
    ),
) -> None:
    """Check the audit log's hash chain. Exit 0 when intact, 1 when an event was deleted, edited or inserted
    outside the service (the first bad event is named)."""
    import json

    from hokusai_auth.audit.verify import Verification, verify_chain
    from hokusai_auth.db.engine import open_database

    settings, _ = _load_settings()
    url = settings.require_database_url()

    async def check() -> Verification:
        database = open_database(url)
        try:
            return await verify_chain(database)
        finally:
            await database.dispose()

    result = asyncio.run(check())
    typer.echo(json.dumps(result.to_json(), indent=2) if output is OutputFormat.json else result.summary())
    if not result.ok:
        raise typer.Exit(1)


def _export_option(name: str, value: str | None, parse: Callable[[str], T]) -> T | None:
    if value is None:
        return None
    try:
        return parse(value)
    except ValueError as exc:
        typer.echo(f"hokusai-auth audit export: {name}: {exc}", err=True)
        raise typer.Exit(2) from None


@audit_cli.command("export")
def audit_export(
    since: Annotated[str | None, typer.Option(help="from this time on (inclusive, RFC 3339)")] = None,
    until: Annotated[str | None, typer.Option(help="before this time (exclusive, RFC 3339)")] = None,
    organization_id: Annotated[str | None, typer.Option(help="only this organization's events")] = None,
    output: Annotated[Path | None, typer.Option(help="write here instead of stdout")] = None,
) -> None:
    """Write the audit log as JSON Lines in chain order: every field, seq, prev_hash and hash (docs/audit.md).
    Progress goes to stderr."""
    import json
    import os
    import tempfile

    from hokusai_auth import times
    from hokusai_auth.audit.export import export_events
    from hokusai_auth.audit.stream import UnreadableEvent
    from hokusai_auth.db.engine import open_database

    start = _export_option("--since", since, times.parse)
    end = _export_option("--until", until, times.parse)
    organization = _export_option("--organization-id", organization_id, uuid.UUID)
    settings, _ = _load_settings()
    url = settings.require_database_url()

    async def export(sink: typing.TextIO) -> int:
        database = open_database(url)
        count = 0
        try:
            async for line in export_events(database, since=start, until=end, organization_id=organization):
                sink.write(json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n")
                count += 1
                if count % EXPORT_PROGRESS_EVERY == 0:
                    typer.echo(f"{count} events exported ...", err=True)
        finally:
            await database.dispose()
        return count

    try:
        if output is None:
            count = asyncio.run(export(sys.stdout))
        else:
            # Written beside the target and renamed at the end: a failed export leaves no half file behind.
            handle, partial = tempfile.mkstemp(prefix=f".{output.name}.", dir=output.parent)
            try:
                with os.fdopen(handle, "w", encoding="utf-8") as sink:
                    count = asyncio.run(export(sink))
                os.replace(partial, output)
            except BaseException:
                Path(partial).unlink(missing_ok=True)
                raise
    except UnreadableEvent as exc:
        typer.echo(f"hokusai-auth audit export: {exc}; run hokusai-auth audit verify", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"exported {count} events" + (f" to {output}" if output else ""), err=True)


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
