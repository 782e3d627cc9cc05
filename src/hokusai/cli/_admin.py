"""``hokusai admin ...``: the operators' commands, with the admin token.

``hokusai admin registrations list|show|approve|reject`` reviews the companies that registered: a table for
people, JSON for scripts, and one ``error:`` line with a documented exit code for every failure.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Annotated

import typer
from rich.cells import cell_len
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table

from hokusai._client import AuthClient
from hokusai._config import DEFAULT_PROFILE, environment_names, resolve
from hokusai._errors import ConfigurationError
from hokusai._models import Registration
from hokusai._vocabulary import RegistrationStatus, choices
from hokusai.cli import _output as output
from hokusai.cli._auth import FormatOpt, ProfileOpt, UrlOpt
from hokusai.cli._failures import fail, reported
from hokusai.cli._output import Format

app = typer.Typer(help="Operators' commands (the admin token).", no_args_is_help=True, rich_markup_mode=None)
registrations = typer.Typer(
    help="Review the companies that registered: list, show, approve, reject.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(registrations, name="registrations")

IdArg = Annotated[
    str,
    typer.Argument(metavar="REGISTRATION_ID", help="the registration's id (a UUID, as list shows it)",
                   show_default=False),
]  # fmt: skip
ReasonOpt = Annotated[str | None, typer.Option("--reason", "-r", metavar="TEXT", help="why (at most 1000 characters)")]
_GAP = 2  # cells between columns
_NAMES = ("ORGANIZATION", "CONTACT")  # the columns a narrow terminal cuts
_NAME_MIN = 12
STATUS_STYLES: dict[str, str] = {
    RegistrationStatus.PENDING_EMAIL_VERIFICATION: "dim",
    RegistrationStatus.PENDING_APPROVAL: "yellow",
    RegistrationStatus.APPROVED: "green",
    RegistrationStatus.REJECTED: "red",
}


@contextmanager
def _admin_client(profile: str | None, url: str | None) -> Iterator[AuthClient]:
    config = resolve(profile, auth_service_url=url)
    if not config.admin_token:
        named = f" --profile {config.profile}" if config.profile != DEFAULT_PROFILE else ""
        raise ConfigurationError(
            f"no admin token configured: set {environment_names('admin_token')} or run "
            f"`hokusai auth login --admin-token{named}`"
        )
    with AuthClient(config=config) as client:
        yield client


def _registration_id(value: str) -> str:
    try:
        return str(uuid.UUID(value.strip()))
    except ValueError:
        raise fail(
            f"'{value}' is not a registration id: ids are UUIDs, as `hokusai admin registrations list` shows them", 2
        ) from None


def _when(moment: datetime | None) -> str:
    return f"{moment:%Y-%m-%d %H:%M}" if moment else "-"


def _status(status: str) -> str:
    style = STATUS_STYLES.get(status, "")
    return f"[{style}]{escape(status)}[/]" if style else escape(status)


def _table(items: list[Registration], *, more: bool) -> None:
    console = output.stdout()
    if not items:
        console.print("No registrations.")
        return
    cells = {
        "ID": [item.id for item in items],
        "STATUS": [item.status for item in items],
        "REGISTERED": [f"{item.created_at:%Y-%m-%d}" for item in items],
        "ORGANIZATION": [item.organization_name for item in items],
        "CONTACT": [item.contact_email for item in items],
    }
    natural = {header: max(cell_len(text) for text in [header, *column]) for header, column in cells.items()}
    shown, hidden = list(cells), []
    # The id (what the other commands take) and the status stay whole. A narrow terminal first cuts the names
    # (to no less than _NAME_MIN), then drops the contact, the date and the organization, in that order.
    for drop in (None, "CONTACT", "REGISTERED", "ORGANIZATION"):
        if drop is not None:
            shown.remove(drop)
            hidden.append(drop)
        widths = _fit_names(shown, natural, console.width)
        if widths is not None:
            break
    widths = {**natural, **(widths or {})}
    table = Table(header_style="bold", box=None, pad_edge=False, padding=(0, _GAP // 2))
    for header in shown:
        table.add_column(header, no_wrap=True)
    for row in range(len(items)):
        texts = [escape(_fit(cells[header][row], widths[header])) for header in shown]
        if "STATUS" in shown:
            index = shown.index("STATUS")
            texts[index] = _status(cells["STATUS"][row])
        table.add_row(*texts)
    console.print(table)
    if hidden:
        output.note(f"{console.width} columns: {', '.join(hidden)} not shown; show or --format json has every field.")
    if more:
        output.note("More registrations exist: pass --all to list every one, or --limit to see more per page.")


def _fit_names(shown: list[str], natural: dict[str, int], width: int) -> dict[str, int] | None:
    """Widths of the name columns so that ``shown`` fits ``width``, or None if it cannot."""
    names = [header for header in shown if header in _NAMES]
    room = width - sum(natural[h] for h in shown if h not in _NAMES) - _GAP * (len(shown) - 1)
    if room < _NAME_MIN * len(names):
        return None
    widths = {header: natural[header] for header in names}
    while sum(widths.values()) > room:
        widest = max(widths, key=lambda header: widths[header])
        widths[widest] -= 1
    return widths


def _fit(text: str, width: int) -> str:
    """``text`` in at most ``width`` cells, ending in "…" when cut."""
    if cell_len(text) <= width:
        return text
    while text and cell_len(text) > width - 1:
        text = text[:-1]
    return text + "…"


def _details(item: Registration, title: str) -> None:
    rows = [
        ("ID", item.id),
        ("Organization", escape(item.organization_name)),
        ("Status", _status(item.status)),
        ("Contact", escape(f"{item.contact_name} <{item.contact_email}>")),
        ("Website", escape(item.website_url or "-")),
        ("Use case", escape(item.use_case or "-")),
        ("Registered", _when(item.created_at)),
        ("Email verified", _when(item.email_verified_at)),
    ]
    if item.decided_at is not None:
        rows.append(("Decided", f"{_when(item.decided_at)} by {escape(item.decided_by or '-')}"))
    if item.rejection_reason:
        rows.append(("Reason", escape(item.rejection_reason)))
    if item.organization_id:
        rows.append(("Organization ID", item.organization_id))
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    for label, value in rows:
        table.add_row(label, value)
    output.stdout().print(Panel(table, title=title, title_align="left", expand=False))


@registrations.command("list")
def list_registrations(
    status: Annotated[
        str | None, typer.Option("--status", "-s", metavar="STATUS", help=f"only {choices(RegistrationStatus)}")
    ] = None,
    limit: Annotated[int, typer.Option(metavar="N", help="registrations per page (1-1000)")] = 100,
    all_pages: Annotated[bool, typer.Option("--all", help="follow every page")] = False,
    fmt: FormatOpt = Format.table,
    profile: ProfileOpt = None,
    url: UrlOpt = None,
) -> None:
    """List registrations, newest first.

    \b
    Examples:
      hokusai admin registrations list --status pending_approval
      hokusai admin registrations list --all -f json | jq -r '.[].contact_email'
    """
    if status is not None and status not in set(RegistrationStatus):
        raise fail(f"--status: one of {choices(RegistrationStatus)}", 2)
    with reported(), _admin_client(profile, url) as client:
        if all_pages:
            items, more = list(client.iter_registrations(status=status, limit=limit)), False
        else:
            page = client.list_registrations(status=status, limit=limit)
            items, more = page.items, page.next_cursor is not None
        output.show(items, fmt, lambda: _table(items, more=more))


@registrations.command("show")
def show(registration_id: IdArg, fmt: FormatOpt = Format.table, profile: ProfileOpt = None, url: UrlOpt = None) -> None:
    """Show one registration: the company, its contact, what it means to do, and any decision.

    \b
    Example:
      hokusai admin registrations show 6f1c2d3e-0b8e-4a52-9a77-5f1c2d3e4f50
    """
    registration_id = _registration_id(registration_id)
    with reported(), _admin_client(profile, url) as client:
        item = client.get_registration(registration_id)
        output.show(item, fmt, lambda: _details(item, f"Registration of {escape(item.organization_name)}"))


@registrations.command("approve")
def approve(
    registration_id: IdArg,
    reason: ReasonOpt = None,
    fmt: FormatOpt = Format.table,
    profile: ProfileOpt = None,
    url: UrlOpt = None,
) -> None:
    """Approve a registration pending approval: its organization is created and the contact is mailed a claim
    link (valid 7 days) that makes a signed-in user the Owner and hands out a production key. Final.

    \b
    Example:
      hokusai admin registrations approve REGISTRATION_ID --reason "known customer"
    """
    registration_id = _registration_id(registration_id)
    with reported(), _admin_client(profile, url) as client:
        item = client.approve_registration(registration_id, reason=reason)
        if fmt is Format.json:
            output.print_json(item)
            return
        output.stdout().print(
            f"Approved '{item.organization_name}': organization {item.organization_id} created; the claim link "
            f"was mailed to {item.contact_email} (valid 7 days).",
            markup=False,
        )


@registrations.command("reject")
def reject(
    registration_id: IdArg,
    reason: ReasonOpt = None,
    fmt: FormatOpt = Format.table,
    profile: ProfileOpt = None,
    url: UrlOpt = None,
) -> None:
    """Reject a registration pending approval; the contact is mailed the reason. Final (the company may register
    again).

    \b
    Example:
      hokusai admin registrations reject REGISTRATION_ID --reason "We could not verify your company."
    """
    registration_id = _registration_id(registration_id)
    with reported(), _admin_client(profile, url) as client:
        item = client.reject_registration(registration_id, reason=reason)
        if fmt is Format.json:
            output.print_json(item)
            return
        told = "the reason" if reason else "that it was not approved (no reason given)"
        output.stdout().print(
            f"Rejected '{item.organization_name}': {item.contact_email} was mailed {told}.", markup=False
        )
