"""How the CLI shows things: rich tables and panels for people, plain JSON for scripts.

JSON goes to stdout unstyled and unwrapped, one document per command, so ``| jq`` always works. Messages for
people (errors, warnings, progress) go to stderr and never mix with it.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table

from hokusai._models import APIKeyInfo, CreatedKey, ValidationResult


class Format(enum.StrEnum):
    table = "table"
    json = "json"


def stdout() -> Console:
    # Piped output is for files and pagers: no point folding tables to an 80-column guess.
    return Console(soft_wrap=False, highlight=False, width=None if sys.stdout.isatty() else 200)


def stderr() -> Console:
    # soft_wrap: a message stays one line however narrow the terminal, so it greps and logs cleanly.
    return Console(stderr=True, soft_wrap=True, highlight=False)


def to_json(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_json(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, list | tuple):
        return [to_json(item) for item in value]
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    return value


def print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(to_json(value), indent=2, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def show(value: Any, fmt: Format, for_people: Callable[[], None]) -> None:
    """``value`` as JSON for scripts, or ``for_people()`` (a table or panel) otherwise."""
    if fmt is Format.json:
        print_json(value)
    else:
        for_people()


def error(message: str) -> None:
    stderr().print(f"[bold red]error:[/] {escape(message)}")


def warn(message: str) -> None:
    stderr().print(f"[yellow]warning:[/] {escape(message)}")


def note(message: str) -> None:
    stderr().print(escape(message), style="dim")


# ------------------------------------------------------------------------------------------------ keys


def key_state(key: APIKeyInfo, now: datetime | None = None) -> str:
    """What a person wants to know first: can this key be used right now, and if not, why."""
    now = now or datetime.now(UTC)
    if key.revoked_at is not None and key.revoked_at <= now:
        return "rotated" if key.rotated_to else "revoked"
    if not key.is_active:
        return "inactive"
    if key.expires_at is not None and key.expires_at <= now:
        return "expired"
    if key.revoked_at is not None:
        return f"grace until {_when(key.revoked_at)}"
    return "active"


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M") if moment else "-"


def _scopes(scopes: list[str]) -> str:
    return ", ".join(scopes) if scopes else "(all)"


def keys_table(keys: list[APIKeyInfo], *, more: bool) -> None:
    console = stdout()
    if not keys:
        console.print("No API keys.")
        return
    table = Table(header_style="bold", box=None, pad_edge=False)
    for column in ("KEY ID", "NAME", "PREFIX", "SERVICE", "ENV", "SCOPES", "STATE", "LIMIT/H", "CREATED", "LAST USED"):
        # Ids and prefixes are copied whole; names and scopes may fold.
        table.add_column(column, overflow="fold", no_wrap=column in ("KEY ID", "PREFIX", "STATE"))
    for key in keys:
        state = key_state(key)
        style = "green" if state == "active" else ("yellow" if state.startswith("grace") else "red")
        table.add_row(
            key.key_id, escape(key.name), key.key_prefix, key.service_id, key.environment, escape(_scopes(key.scopes)),
            f"[{style}]{state}[/]", str(key.rate_limit_per_hour), _when(key.created_at), _when(key.last_used_at),
        )  # fmt: skip
    console.print(table)
    if more:
        note("More keys exist: pass --all to list every one, or --limit to see more per page.")


def key_details(key: APIKeyInfo, title: str | None = None) -> None:
    rows = [
        ("Key ID", key.key_id),
        ("Name", escape(key.name)),
        ("Prefix", key.key_prefix),
        ("State", key_state(key)),
        ("Service", key.service_id),
        ("Environment", key.environment),
        ("Scopes", escape(_scopes(key.scopes))),
        ("Owner", escape(key.user_id)),
        ("Rate limit", f"{key.rate_limit_per_hour}/hour, burst {key.burst or key.rate_limit_per_hour}"),
        (
            "Monthly predictions",
            "no limit" if key.monthly_prediction_limit is None else str(key.monthly_prediction_limit),
        ),
        ("Allowed IPs", ", ".join(key.allowed_ips) if key.allowed_ips else "any"),
        ("Billing plan", key.billing_plan),
        ("Created", _when(key.created_at)),
        ("Expires", _when(key.expires_at) if key.expires_at else "never"),
        ("Last used", _when(key.last_used_at)),
    ]
    if key.rotated_from:
        rows.append(("Rotated from", key.rotated_from))
    if key.rotated_to:
        rows.append(("Rotated to", key.rotated_to))
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    for label, value in rows:
        table.add_row(label, value)
    stdout().print(Panel(table, title=title, title_align="left", expand=False))


def new_key(created: CreatedKey, *, title: str) -> None:
    """The one moment the key can be seen: show it plainly, say so, and say how to use it."""
    key_details(created.key_info, title=title)
    console = stdout()
    console.print()
    console.print("[bold]API key[/] (shown only this once; it cannot be recovered):")
    console.print()
    console.print(f"    {created.api_key}", style="bold green", markup=False)
    console.print()
    warn("store it now in a secrets manager or an environment variable, never in source control.")
    note("Use it:   export HOKUSAI_API_KEY='<the key above>'")
    note("Check it: hokusai auth validate --key $HOKUSAI_API_KEY")


def validation(result: ValidationResult) -> None:
    console = stdout()
    if result.is_valid:
        rows = [
            ("Key ID", result.key_id or "-"),
            ("Service", result.service_id or "-"),
            ("Environment", result.environment or "-"),
            ("Scopes", escape(_scopes(result.scopes))),
            ("Owner", escape(result.user_id or "-")),
            ("Rate limit", f"{result.rate_limit_remaining} of {result.rate_limit_per_hour}/hour left"),
            ("Expires", _when(result.expires_at) if result.expires_at else "never"),
        ]
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold")
        table.add_column(overflow="fold")
        for label, value in rows:
            table.add_row(label, value)
        console.print(Panel(table, title="[green]valid[/]", title_align="left", expand=False))
        return
    console.print(f"[bold red]not valid:[/] {escape(result.error or 'refused')} ({result.code})")
    if result.detail and result.detail != result.error:
        console.print(escape(result.detail), style="dim")
