"""How the CLI shows things: rich tables and panels for people, plain JSON for scripts.

JSON goes to stdout unstyled and unwrapped, one document per command, so ``| jq`` always works. Messages for
people (errors, warnings, progress) go to stderr and never mix with it.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import os
import sys
from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from rich.cells import cell_len
from rich.console import Console
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table

from hokusai._models import APIKeyInfo, CreatedKey, CreatedOrganizationKey, ValidationResult


class Format(enum.StrEnum):
    table = "table"
    json = "json"


def stdout() -> Console:
    # Piped output is for files and pagers: no point folding tables to an 80-column guess. COLUMNS, when set,
    # is a width somebody chose (rich reads it when width is None).
    terminal = sys.stdout.isatty() or os.environ.get("COLUMNS", "").isdigit()
    return Console(soft_wrap=False, highlight=False, width=None if terminal else 200)


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


def key_state(key: APIKeyInfo, now: datetime | None = None, successor: APIKeyInfo | None = None) -> str:
    """What a person wants to know first: can this key be used right now, and if not, why.

    A rotated key stops at the end of its grace period; revoking it during the grace period stops it earlier, and
    that is "revoked". The two differ only in when it stopped: a rotation without grace stops the old key at the
    very moment its ``successor`` was created."""
    now = now or datetime.now(UTC)
    stopped = key.revoked_at is not None and key.revoked_at <= now
    if key.rotated_to and stopped:
        revoked_in_grace = (not key.is_active and successor is not None and key.revoked_at is not None
                            and key.revoked_at - successor.created_at > _SAME_MOMENT)  # fmt: skip
        return "revoked" if revoked_in_grace else "rotated"
    if stopped or (not key.is_active and key.revoked_at is not None):
        return "revoked"
    if not key.is_active:
        return "inactive"
    if key.expires_at is not None and key.expires_at <= now:
        return "expired"
    if key.revoked_at is not None:
        return f"grace until {_when(key.revoked_at)}"
    return "active"


_SAME_MOMENT = timedelta(milliseconds=5)


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M") if moment else "-"


def _scopes(scopes: list[str]) -> str:
    return ", ".join(scopes) if scopes else "(all)"


def _fit(text: str, width: int) -> str:
    """``text`` in at most ``width`` cells, ending in "…" when cut."""
    if cell_len(text) <= width:
        return text
    while text and cell_len(text) > width - 1:
        text = text[:-1]
    return text + "…"


@dataclasses.dataclass
class _Column:
    header: str
    cells: list[str]
    width: int = 0
    natural: int = 0

    def __post_init__(self) -> None:
        self.width = self.natural = max(cell_len(text) for text in [self.header, *self.cells])

    def shrink(self, width: int) -> None:
        self.width = min(self.width, max(width, cell_len(self.header)))


# How list-keys makes room on a narrow terminal, least useful first: drop a column, or shrink one (its cells end
# in "…"). KEY ID, NAME and STATE always stay; the id is cut only when nothing else is left to give.
_NARROWING: tuple[tuple[str, int | None], ...] = (
    ("CREATED", None), ("LIMIT/H", None), ("ENV", None), ("NAME", 24), ("SCOPES", 16), ("SCOPES", None),
    ("LAST USED", None), ("SERVICE", None), ("NAME", 12), ("PREFIX", None), ("KEY ID", 9),
)  # fmt: skip
_GAP = 2  # cells between columns


def keys_table(keys: list[APIKeyInfo], *, more: bool) -> None:
    console = stdout()
    if not keys:
        console.print("No API keys.")
        return
    now = datetime.now(UTC)
    by_id = {key.key_id: key for key in keys}
    states = [key_state(key, now, by_id.get(key.rotated_to or "")) for key in keys]
    columns = {
        column.header: column
        for column in (
            _Column("KEY ID", [key.key_id for key in keys]),
            _Column("NAME", [key.name for key in keys]),
            _Column("PREFIX", [key.key_prefix for key in keys]),
            _Column("SERVICE", [key.service_id for key in keys]),
            _Column("ENV", [key.environment for key in keys]),
            _Column("SCOPES", [_scopes(key.scopes) for key in keys]),
            _Column("STATE", states),
            _Column("LIMIT/H", [str(key.rate_limit_per_hour) for key in keys]),
            _Column("CREATED", [_when(key.created_at) for key in keys]),
            _Column("LAST USED", [_when(key.last_used_at) for key in keys]),
        )
    }
    hidden = []

    def room() -> int:
        return console.width - sum(c.width for c in columns.values()) - _GAP * (len(columns) - 1)

    for header, width in _NARROWING:
        if room() >= 0:
            break
        if width is None:
            hidden.append(header)
            del columns[header]
        else:
            columns[header].shrink(width)
    for column in columns.values():  # what a dropped column left over goes back to the ones cut short
        column.width = min(column.natural, column.width + max(room(), 0))
    table = Table(header_style="bold", box=None, pad_edge=False, padding=(0, _GAP // 2))
    for column in columns.values():
        table.add_column(column.header, no_wrap=True, overflow="ellipsis", min_width=column.width)
    for row in range(len(keys)):
        cells = []
        for column in columns.values():
            text = escape(_fit(column.cells[row], column.width))
            if column.header == "STATE":
                state = column.cells[row]
                style = "green" if state == "active" else ("yellow" if state.startswith("grace") else "red")
                text = f"[{style}]{text}[/]"
            cells.append(text)
        table.add_row(*cells)
    console.print(table)
    if hidden:
        note(f"{console.width} columns: {', '.join(hidden)} not shown; --format json has every field.")
    if more:
        note("More keys exist: pass --all to list every one, or --limit to see more per page.")


def _fit_middle(text: str, width: int) -> str:
    """``text`` in at most ``width`` cells, its middle replaced by "…" when cut: a wallet address stays
    recognizable by both ends (0x5aAe…eAed)."""
    if cell_len(text) <= width:
        return text
    keep = max(width - 1, 0)
    head = text[: (keep + 1) // 2]
    tail = text[len(text) - keep // 2 :] if keep // 2 else ""
    return head + "…" + tail


def fitted_table(
    cells: Mapping[str, Sequence[str]],
    narrowing: Sequence[tuple[str, int | None]],
    *,
    middle: Collection[str] = (),
    right: Collection[str] = (),
    styles: Mapping[str, Callable[[str], str]] | None = None,
) -> None:
    """A table of ``cells`` (header -> one text per row) that fits the terminal, as list-keys does: while it is too
    wide, take the next step of ``narrowing``, least useful first (a header and None: drop that column; a header
    and a width: shrink it, its cells cut with "…", at the end or, for the ``middle`` columns, in the middle).
    What is left over goes back to the columns cut short; a note on stderr names the dropped columns. ``styles``
    give a cell's rich style from its text (e.g. a role's colour); ``right`` columns are numbers."""
    console = stdout()
    columns = {header: _Column(header, list(texts)) for header, texts in cells.items()}
    rows = len(next(iter(cells.values()), []))
    hidden = []

    def room() -> int:
        return console.width - sum(c.width for c in columns.values()) - _GAP * (len(columns) - 1)

    for header, width in narrowing:
        if room() >= 0:
            break
        if header not in columns:
            continue
        if width is None:
            hidden.append(header)
            del columns[header]
        else:
            columns[header].shrink(width)
    for column in columns.values():
        column.width = min(column.natural, column.width + max(room(), 0))
    table = Table(header_style="bold", box=None, pad_edge=False, padding=(0, _GAP // 2))
    for column in columns.values():
        table.add_column(column.header, no_wrap=True, overflow="ellipsis", min_width=column.width,
                         justify="right" if column.header in right else "left")  # fmt: skip
    for row in range(rows):
        texts = []
        for column in columns.values():
            raw = column.cells[row]
            text = escape((_fit_middle if column.header in middle else _fit)(raw, column.width))
            style = (styles or {}).get(column.header)
            if style is not None and style(raw):
                text = f"[{style(raw)}]{text}[/]"
            texts.append(text)
        table.add_row(*texts)
    console.print(table)
    if hidden:
        note(f"{console.width} columns: {', '.join(hidden)} not shown; --format json has every field.")


def panel(rows: Sequence[tuple[str, str]], title: str | None = None) -> None:
    """Labelled values in a box (values are rich markup: escape what came from the service)."""
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    for label, value in rows:
        table.add_row(label, value)
    stdout().print(Panel(table, title=title, title_align="left", expand=False))


def key_details(key: APIKeyInfo, title: str | None = None, successor: APIKeyInfo | None = None) -> None:
    state = key_state(key, successor=successor)
    if key.revoked_at is not None and not state.startswith("grace"):
        state += f" since {_when(key.revoked_at)}"
    rows = [
        ("Key ID", key.key_id),
        ("Name", escape(key.name)),
        ("Prefix", key.key_prefix),
        ("State", state),
        ("Service", key.service_id),
        ("Environment", key.environment),
        ("Scopes", escape(_scopes(key.scopes))),
        *([("Organization", key.organization_id)] if key.organization_id else []),
        ("Owner" if key.organization_id is None else "Created by", escape(key.user_id)),
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


def new_key(created: CreatedKey | CreatedOrganizationKey, *, title: str) -> None:
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
