"""``hokusai org ...``: organizations, their members, invitations, keys, audit log and usage, as the signed-in user.

Every command acts with the session ``hokusai auth login --wallet`` stored in the profile (refreshed and stored
again as it needs; an admin token does not stand in for it: organizations are their members' business). An
organization is named by its id or, when that is unambiguous, by its name as ``hokusai org list`` shows it; a
member by their user id or wallet address. Each command prints a table or panel for people and JSON for scripts,
and fails with one ``error:`` line and the exit code documented in hokusai.cli._failures.
"""

from __future__ import annotations

import re
import sys
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import parse_qs, urlsplit

import typer
from rich.markup import escape

from hokusai._client import AuthClient
from hokusai._config import DEFAULT_PROFILE, resolve
from hokusai._errors import AuthenticationError, ConfigurationError, InvalidRequestError, NotFoundError
from hokusai._models import ROLES, APIKeyInfo, AuditEvent, Organization, OrganizationMember
from hokusai._vocabulary import Environment, Service, choices
from hokusai.cli import _complete as complete
from hokusai.cli import _output as output
from hokusai.cli._auth import FormatOpt, ProfileOpt, UrlOpt, _key_id, _service_option
from hokusai.cli._failures import fail, reported
from hokusai.cli._output import Format

app = typer.Typer(
    help="Organizations: create one, invite members, give roles, share keys, read its audit log and usage "
    "(as the user signed in with `hokusai auth login --wallet`).",
    no_args_is_help=True,
    rich_markup_mode=None,
)

OrgArg = Annotated[
    str,
    typer.Argument(metavar="ORG", help="the organization's id, or its name (as `hokusai org list` shows them)",
                   show_default=False, autocompletion=complete.organizations),
]  # fmt: skip
MemberArg = Annotated[
    str,
    typer.Argument(metavar="USER_ID", help="the member's user id or wallet address (as `hokusai org members` shows "
                   "them)", show_default=False, autocompletion=complete.members),
]  # fmt: skip
OrgKeyIdArg = Annotated[
    str,
    typer.Argument(metavar="KEY_ID", help="the key's id (a UUID, as `hokusai org keys` shows it)", show_default=False,
                   autocompletion=complete.organization_key_ids),
]  # fmt: skip
YesOpt = Annotated[bool, typer.Option("--yes", "-y", help="do not ask for confirmation")]
ROLE_STYLES = {"owner": "bold magenta", "admin": "cyan", "developer": "green", "viewer": "dim"}
WALLET = re.compile(r"^0x[0-9a-fA-F]{40}$")
SPAN = re.compile(r"^(\d+)\s*([mhdw])$")
PERIOD = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
SPAN_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def _role_style(role: str) -> str:
    return ROLE_STYLES.get(role.split(maxsplit=1)[0], "") if role else ""


def _title(role: str) -> str:
    return role.capitalize()


def _role(value: str, what: str) -> str:
    role = value.strip().lower()
    if role not in ROLES:
        raise fail(f"{what}: '{value}' is not a role: one of {choices(ROLES)}", 2)
    return role


@contextmanager
def _session_client(profile: str | None, url: str | None) -> Iterator[AuthClient]:
    """A client with the profile's signed-in session, refreshed and stored again as it needs."""
    config = resolve(profile, auth_service_url=url)
    if config.session is None:
        named = f" --profile {config.profile}" if config.profile != DEFAULT_PROFILE else ""
        raise ConfigurationError(
            f"not signed in at {config.auth_service_url}: the organization commands act as you; sign in with "
            f"`hokusai auth login --wallet KEYSTORE{named}`"
        )
    with AuthClient(config=config) as client:
        try:
            yield client
        except AuthenticationError as error:
            if "hokusai auth login --wallet" in error.message:
                raise
            wallet = config.session.wallet_address or "the user"
            raise fail(f"{error.message} (the session of {wallet} from {config.source('session')}); "
                       "run `hokusai auth login --wallet KEYSTORE`", 4) from None  # fmt: skip


def _as_uuid(value: str) -> str | None:
    try:
        return str(uuid.UUID(value.strip()))
    except ValueError:
        return None


def _by_name(client: AuthClient, name: str) -> Organization:
    mine = client.list_organizations()
    found = [org for org in mine if org.name == name.strip()]
    found = found or [org for org in mine if org.name.casefold() == name.strip().casefold()]
    if not found:
        raise fail(f"you are not a member of an organization named '{name}' (`hokusai org list` shows yours)", 5)
    if len(found) > 1:
        ids = ", ".join(org.id for org in found)
        raise fail(f"{len(found)} of your organizations are named '{name}': give the id of the one you mean ({ids})",
                   2)  # fmt: skip
    return found[0]


def _organization(client: AuthClient, value: str) -> Organization:
    organization_id = _as_uuid(value)
    return client.get_organization(organization_id) if organization_id else _by_name(client, value)


def _organization_id(client: AuthClient, value: str) -> str:
    """The id ``value`` names, asking the service only when it is a name."""
    return _as_uuid(value) or _by_name(client, value).id


def _member(client: AuthClient, organization_id: str, value: str) -> OrganizationMember:
    given = value.strip()
    user_id = _as_uuid(given)
    if user_id is None and not WALLET.match(given):
        raise fail(f"'{value}' is neither a user id nor a wallet address: `hokusai org members ORG` shows them", 2)
    for member in client.list_members(organization_id):
        if member.user_id == user_id or (member.wallet_address or "").lower() == given.lower():
            return member
    raise fail(f"{given} is not a member of this organization (`hokusai org members ORG` lists them)", 5)


def _who(member: OrganizationMember) -> str:
    return member.wallet_address or member.email or member.user_id


def _when(moment: datetime | None, with_time: bool = True) -> str:
    if moment is None:
        return "-"
    return f"{moment:%Y-%m-%d %H:%M}" if with_time else f"{moment:%Y-%m-%d}"


def _confirm(yes: bool, question: str, refusal: str, declined: str) -> None:
    if yes:
        return
    if not sys.stdin.isatty():
        raise fail(f"{refusal} without confirmation: pass --yes", 2)
    if not typer.confirm(question, default=False):
        raise fail(declined, 1)


def _name_refused(action: Callable[[], Any]) -> Any:
    """``action``, with a refused name reported as the NAME argument (the service calls the field "name", which
    the other commands take as --name)."""
    try:
        return action()
    except InvalidRequestError as error:
        if error.field == "name":
            raise fail(f"NAME: {error.message.split(': ', 1)[-1]}", 2) from None
        raise


def _organization_not_found(error: NotFoundError) -> NotFoundError:
    if error.message.startswith("Organization not found"):
        error.message = f"{error.message}: it does not exist, or you are not a member (`hokusai org list`)"
    return error


@contextmanager
def _org_command(profile: str | None, url: str | None) -> Iterator[AuthClient]:
    """``reported()`` and a signed-in client, with a 404 of the organization said in full."""
    with reported(), _session_client(profile, url) as client:
        try:
            yield client
        except NotFoundError as error:
            raise _organization_not_found(error) from None


# ------------------------------------------------------------------------------------------------ organizations


def _organizations_table(items: list[Organization]) -> None:
    if not items:
        output.stdout().print("You are not a member of any organization yet: `hokusai org create NAME` makes one, "
                              "or accept an invitation with `hokusai org accept TOKEN`.", markup=False)  # fmt: skip
        return
    cells = {
        "ID": [org.id for org in items],
        "NAME": [org.name for org in items],
        "ROLE": [org.role for org in items],
        "PLAN": [org.billing_plan for org in items],
        "CREATED": [_when(org.created_at, with_time=False) for org in items],
    }
    output.fitted_table(cells, (("CREATED", None), ("NAME", 16), ("PLAN", None), ("NAME", 10)),
                        styles={"ROLE": _role_style})  # fmt: skip


@app.command("create")
def create(
    name: Annotated[str, typer.Argument(metavar="NAME", help="the organization's name (1 line)", show_default=False)],
    fmt: FormatOpt = Format.table,
    profile: ProfileOpt = None,
    url: UrlOpt = None,
) -> None:
    """Create an organization; you are its Owner.

    \b
    Examples:
      hokusai org create "Acme ML"
      ORG=$(hokusai org create "Acme ML" -f json | jq -r .id)
    """
    with _org_command(profile, url) as client:
        org = _name_refused(lambda: client.create_organization(name))
        if fmt is Format.json:
            output.print_json(org)
            return
        output.stdout().print(f"Created '{org.name}' ({org.id}); you are its Owner.", markup=False)
        output.note(f"Invite members: hokusai org invite {org.id} EMAIL --role developer")


@app.command("list")
def list_organizations(fmt: FormatOpt = Format.table, profile: ProfileOpt = None, url: UrlOpt = None) -> None:
    """List your organizations, with your role in each.

    \b
    Examples:
      hokusai org list
      hokusai org list -f json | jq -r '.[] | select(.role == "owner") | .id'
    """
    with _org_command(profile, url) as client:
        items = client.list_organizations()
        output.show(items, fmt, lambda: _organizations_table(items))


@app.command("show")
def show(organization: OrgArg, fmt: FormatOpt = Format.table, profile: ProfileOpt = None, url: UrlOpt = None) -> None:
    """Show an organization: its name, plan, your role and how many members it has.

    \b
    Example:
      hokusai org show "Acme ML"
    """
    with _org_command(profile, url) as client:
        org = _organization(client, organization)
        if fmt is Format.json:
            output.print_json(org)
            return
        members = client.list_members(org.id)
        output.panel([
            ("ID", org.id),
            ("Name", escape(org.name)),
            ("Your role", _title(org.role)),
            ("Billing plan", escape(org.billing_plan)),
            ("Members", str(len(members))),
            ("Created", _when(org.created_at)),
        ], title=f"Organization {escape(org.name)}")  # fmt: skip


@app.command("rename")
def rename(
    organization: OrgArg,
    name: Annotated[str, typer.Argument(metavar="NAME", help="the new name", show_default=False)],
    fmt: FormatOpt = Format.table,
    profile: ProfileOpt = None,
    url: UrlOpt = None,
) -> None:
    """Rename an organization (Admin or Owner).

    \b
    Example:
      hokusai org rename "Acme ML" "Acme Machine Learning"
    """
    with _org_command(profile, url) as client:
        organization_id = _organization_id(client, organization)
        org = _name_refused(lambda: client.rename_organization(organization_id, name))
        output.show(org, fmt, lambda: output.stdout().print(f"Renamed {org.id} to '{org.name}'.", markup=False))


@app.command("delete")
def delete(
    organization: OrgArg, yes: YesOpt = False, fmt: FormatOpt = Format.table, profile: ProfileOpt = None,
    url: UrlOpt = None,
) -> None:  # fmt: skip
    """Delete an organization (Owner): its keys stop working at once, its members and invitations are removed; its
    audit log stays. This cannot be undone.

    \b
    Examples:
      hokusai org delete "Acme ML"           # asks first
      hokusai org delete ORG_ID --yes        # in a script
    """
    with _org_command(profile, url) as client:
        org = _organization(client, organization)
        _confirm(yes, f"Delete '{org.name}' ({org.id})? Its keys stop working at once, for good.",
                 "refusing to delete an organization", "not deleted")  # fmt: skip
        message = client.delete_organization(org.id)
        if fmt is Format.json:
            output.print_json({"message": message, "organization_id": org.id})
        else:
            output.stdout().print(f"Deleted '{org.name}': its keys no longer work; its audit log stays.",
                                  markup=False)  # fmt: skip


# ------------------------------------------------------------------------------------------------ members


def _members_table(items: list[OrganizationMember], me: str | None) -> None:
    cells = {
        "USER ID": [member.user_id for member in items],
        "ROLE": [member.role + (" (you)" if member.user_id == me else "") for member in items],
        "WALLET": [member.wallet_address or "-" for member in items],
        "EMAIL": [member.email or "-" for member in items],
        "NAME": [member.display_name or "-" for member in items],
        "JOINED": [_when(member.joined_at, with_time=False) for member in items],
    }
    narrowing = (("NAME", None), ("EMAIL", 24), ("JOINED", None), ("WALLET", 13), ("EMAIL", 12), ("EMAIL", None))
    output.fitted_table(cells, narrowing, middle={"WALLET"},
                        styles={"ROLE": _role_style})  # fmt: skip


@app.command("members")
def members(
    organization: OrgArg, fmt: FormatOpt = Format.table, profile: ProfileOpt = None, url: UrlOpt = None
) -> None:
    """List an organization's members and their roles.

    \b
    Examples:
      hokusai org members "Acme ML"
      hokusai org members ORG_ID -f json | jq -r '.[] | select(.role == "admin") | .wallet_address'
    """
    with _org_command(profile, url) as client:
        items = client.list_members(_organization_id(client, organization))
        me = client.session.user_id if client.session else None
        output.show(items, fmt, lambda: _members_table(items, me))


@app.command("set-role")
def set_role(
    organization: OrgArg,
    member: MemberArg,
    role: Annotated[
        str, typer.Argument(metavar="ROLE", help=choices(ROLES), show_default=False, autocompletion=complete.roles)
    ],
    fmt: FormatOpt = Format.table,
    profile: ProfileOpt = None,
    url: UrlOpt = None,
) -> None:
    """Change a member's role (Admin; only an Owner grants or takes away Owner; the last Owner stays one).

    \b
    Example:
      hokusai org set-role "Acme ML" 0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed admin
    """
    role = _role(role, "ROLE")
    with _org_command(profile, url) as client:
        org = _organization(client, organization)
        target = _member(client, org.id, member)
        changed = client.set_member_role(org.id, target.user_id, role)
        if fmt is Format.json:
            output.print_json(changed)
            return
        was = "" if target.role == changed.role else f" (was {_title(target.role)})"
        output.stdout().print(f"{_who(changed)} is now {_title(changed.role)} in '{org.name}'{was}.", markup=False)


@app.command("remove")
def remove(
    organization: OrgArg,
    member: MemberArg,
    yes: YesOpt = False,
    fmt: FormatOpt = Format.table,
    profile: ProfileOpt = None,
    url: UrlOpt = None,
) -> None:
    """Remove a member (Admin; only an Owner removes an Owner), or yourself (leave). The keys they created for the
    organization stay.

    \b
    Examples:
      hokusai org remove "Acme ML" USER_ID          # asks first
      hokusai org remove "Acme ML" USER_ID --yes    # in a script
    """
    with _org_command(profile, url) as client:
        org = _organization(client, organization)
        target = _member(client, org.id, member)
        myself = client.session is not None and client.session.user_id == target.user_id
        question = (
            f"Leave '{org.name}'? You lose access to it at once."
            if myself
            else f"Remove {_who(target)} ({_title(target.role)}) from '{org.name}'? They lose access at once."
        )
        _confirm(yes, question, "refusing to remove a member", "not removed")
        message = client.remove_member(org.id, target.user_id)
        if fmt is Format.json:
            output.print_json({"message": message, "organization_id": org.id, "user_id": target.user_id})
        elif myself:
            output.stdout().print(f"You left '{org.name}'.", markup=False)
        else:
            output.stdout().print(f"Removed {_who(target)} from '{org.name}'.", markup=False)


# ------------------------------------------------------------------------------------------------ invitations


@app.command("invite")
def invite(
    organization: OrgArg,
    email: Annotated[str, typer.Argument(metavar="EMAIL", help="where the invitation is mailed", show_default=False)],
    role: Annotated[
        str, typer.Option("--role", "-r", metavar="ROLE", help=choices(ROLES), autocompletion=complete.roles)
    ] = "developer",
    fmt: FormatOpt = Format.table,
    profile: ProfileOpt = None,
    url: UrlOpt = None,
) -> None:
    """Invite someone by email (Admin; only an Owner invites an Owner). The mail holds a link that works once, for
    7 days; inviting the address again replaces it.

    \b
    Examples:
      hokusai org invite "Acme ML" ada@example.com
      hokusai org invite "Acme ML" grace@example.com --role admin
    """
    role = _role(role, "--role")
    with _org_command(profile, url) as client:
        org = _organization(client, organization)
        invitation = client.invite_member(org.id, email, role=role)
        if fmt is Format.json:
            output.print_json(invitation)
            return
        until = _when(invitation.expires_at)
        output.stdout().print(f"Invited {invitation.email} to '{org.name}' as {_title(invitation.role)}: the link "
                              f"was mailed (valid until {until} UTC).", markup=False)  # fmt: skip
        output.note("They sign in with their wallet, then: hokusai org accept '<the link from the mail>'")


@app.command("invitations")
def invitations(
    organization: OrgArg, fmt: FormatOpt = Format.table, profile: ProfileOpt = None, url: UrlOpt = None
) -> None:
    """List an organization's pending invitations (Admin or Owner).

    \b
    Example:
      hokusai org invitations "Acme ML"
    """
    with _org_command(profile, url) as client:
        items = client.list_invitations(_organization_id(client, organization))

        def table() -> None:
            if not items:
                output.stdout().print("No pending invitations.")
                return
            cells = {
                "ID": [item.id for item in items],
                "EMAIL": [item.email for item in items],
                "ROLE": [item.role for item in items],
                "EXPIRES": [_when(item.expires_at) for item in items],
            }
            output.fitted_table(cells, (("EXPIRES", None), ("EMAIL", 16)), styles={"ROLE": _role_style})

        output.show(items, fmt, table)


@app.command("revoke-invitation")
def revoke_invitation(
    organization: OrgArg,
    invitation_id: Annotated[
        str, typer.Argument(metavar="INVITATION_ID", help="as `hokusai org invitations` shows it", show_default=False)
    ],
    fmt: FormatOpt = Format.table,
    profile: ProfileOpt = None,
    url: UrlOpt = None,
) -> None:
    """Withdraw a pending invitation (Admin or Owner): its link stops working.

    \b
    Example:
      hokusai org revoke-invitation "Acme ML" INVITATION_ID
    """
    if _as_uuid(invitation_id) is None:
        raise fail(f"'{invitation_id}' is not an invitation id: ids are UUIDs, as `hokusai org invitations` shows "
                   "them", 2)  # fmt: skip
    with _org_command(profile, url) as client:
        organization_id = _organization_id(client, organization)
        message = client.revoke_invitation(organization_id, invitation_id.strip())
        if fmt is Format.json:
            output.print_json({"message": message, "organization_id": organization_id,
                               "invitation_id": invitation_id.strip()})  # fmt: skip
        else:
            output.stdout().print("Withdrawn: the invitation's link no longer works.", markup=False)


def _token(value: str) -> str:
    """The token itself, also from the whole link pasted from the mail."""
    value = value.strip()
    if "token=" in value:
        tokens = parse_qs(urlsplit(value).query).get("token")
        if tokens:
            return tokens[0]
    return value


@app.command("accept")
def accept(
    token: Annotated[
        str,
        typer.Argument(
            metavar="TOKEN", help="the invitation's token, or the whole link from the mail", show_default=False
        ),
    ],
    fmt: FormatOpt = Format.table,
    profile: ProfileOpt = None,
    url: UrlOpt = None,
) -> None:
    """Join an organization with the invitation mailed to you (the link works once).

    \b
    Examples:
      hokusai org accept hki_...
      hokusai org accept 'https://auth.hokus.ai/invitations/accept?token=hki_...'
    """
    with _org_command(profile, url) as client:
        org = client.accept_invitation(_token(token))
        if fmt is Format.json:
            output.print_json(org)
            return
        output.stdout().print(f"Joined '{org.name}' ({org.id}) as {_title(org.role)}.", markup=False)


# ------------------------------------------------------------------------------------------------ keys


@app.command("keys")
def keys(
    organization: OrgArg,
    active_only: Annotated[bool, typer.Option("--active-only", help="only keys usable now")] = False,
    limit: Annotated[int, typer.Option(metavar="N", help="keys per page (1-1000)")] = 100,
    all_pages: Annotated[bool, typer.Option("--all", help="follow every page")] = False,
    fmt: FormatOpt = Format.table,
    profile: ProfileOpt = None,
    url: UrlOpt = None,
) -> None:
    """List an organization's API keys, newest first. The table fits the terminal; --format json has every field.

    \b
    Examples:
      hokusai org keys "Acme ML" --active-only
      hokusai org keys ORG_ID --all -f json | jq -r '.[].key_id'
    """
    with _org_command(profile, url) as client:
        organization_id = _organization_id(client, organization)
        found: list[APIKeyInfo]
        if all_pages:
            found = list(client.iter_organization_keys(organization_id, active_only=active_only, limit=limit))
            more = False
        else:
            page = client.list_organization_keys(organization_id, active_only=active_only, limit=limit)
            found, more = page.items, page.next_cursor is not None
        output.show(found, fmt, lambda: output.keys_table(found, more=more))


@app.command("create-key")
def create_key(
    organization: OrgArg,
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
    fmt: FormatOpt = Format.table,
    profile: ProfileOpt = None,
    url: UrlOpt = None,
) -> None:
    """Create an API key of the organization (Developer or above), billed on its plan. The key is shown once:
    store it right away.

    \b
    Examples:
      hokusai org create-key "Acme ML" --name "ci" --scope predict --expires-in-days 90
      KEY=$(hokusai org create-key ORG_ID --name ci -f json | jq -r .api_key)
    """
    with _org_command(profile, url) as client:
        organization_id = _organization_id(client, organization)
        created = client.create_organization_key(
            organization_id, name, service, scopes=scope, environment=environment, expires_in_days=expires_in_days,
            rate_limit_per_hour=rate_limit, burst=burst, monthly_prediction_limit=monthly_prediction_limit,
            allowed_ips=allowed_ip,
        )  # fmt: skip
        output.show(created, fmt, lambda: output.new_key(created, title="New organization API key"))


def _organization_key(client: AuthClient, organization_id: str, key_id: str) -> APIKeyInfo:
    for key in client.iter_organization_keys(organization_id, limit=1000):
        if key.key_id == key_id:
            return key
    raise fail(f"the organization has no key {key_id} (`hokusai org keys ORG` lists them)", 5)


@app.command("revoke-key")
def revoke_key(
    organization: OrgArg,
    key_id: OrgKeyIdArg,
    yes: YesOpt = False,
    fmt: FormatOpt = Format.table,
    profile: ProfileOpt = None,
    url: UrlOpt = None,
) -> None:
    """Revoke an organization's API key at once, on every instance (a Developer the keys they created; an Admin
    or Owner any). This cannot be undone.

    \b
    Examples:
      hokusai org revoke-key "Acme ML" KEY_ID          # asks first
      hokusai org revoke-key "Acme ML" KEY_ID --yes    # in a script
    """
    key_id = _key_id(key_id)
    with _org_command(profile, url) as client:
        organization_id = _organization_id(client, organization)
        key = _organization_key(client, organization_id, key_id)
        if not key.is_active and key.revoked_at is not None:
            if fmt is Format.json:
                output.print_json({"message": "API key already revoked", "key_id": key_id, "already_revoked": True,
                                   "revoked_at": key.revoked_at})  # fmt: skip
            else:
                output.stdout().print(f"'{key.name}' ({key.key_prefix}) was already revoked on "
                                      f"{key.revoked_at:%Y-%m-%d %H:%M} UTC; nothing to do.", markup=False)  # fmt: skip
            return
        _confirm(yes, f"Revoke '{key.name}' ({key.key_prefix}, {key.service_id})? It stops working at once, for good.",
                 "refusing to revoke", "not revoked")  # fmt: skip
        message = client.revoke_organization_key(organization_id, key_id)
        if fmt is Format.json:
            output.print_json({"message": message, "key_id": key_id, "already_revoked": False})
        else:
            output.stdout().print(f"Revoked '{key.name}' ({key.key_prefix}): it no longer works anywhere.",
                                  markup=False)  # fmt: skip


# ------------------------------------------------------------------------------------------------ audit, usage


def _moment(value: str | None, flag: str) -> datetime | None:
    """A time as typed: RFC 3339 or a date (UTC when no offset is given), or a span back from now (30m, 24h, 7d,
    2w)."""
    if value is None:
        return None
    text = value.strip()
    span = SPAN.match(text.lower())
    try:
        if span:
            return datetime.now(UTC) - timedelta(**{SPAN_UNITS[span.group(2)]: int(span.group(1))})
        moment = datetime.fromisoformat(text)
    except OverflowError:
        raise fail(f"{flag}: '{value}' reaches back before the year 1", 2) from None
    except ValueError:
        raise fail(f"{flag}: '{value}' is neither a time (2025-01-31, 2025-01-31T09:00:00Z) nor a span back from "
                   "now (30m, 24h, 7d, 2w)", 2) from None  # fmt: skip
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _target(event: AuditEvent) -> str:
    if event.target_type and event.target_id:
        return f"{event.target_type}:{event.target_id}"
    return event.target_type or "-"


def _audit_table(items: list[AuditEvent], *, more: bool) -> None:
    if not items:
        output.stdout().print("No audit events.")
        return
    cells = {
        "TIME (UTC)": [f"{event.occurred_at.astimezone(UTC):%Y-%m-%d %H:%M:%S}" for event in items],
        "ACTION": [event.action for event in items],
        "OUTCOME": [event.outcome for event in items],
        "ACTOR": [event.actor for event in items],
        "TARGET": [_target(event) for event in items],
    }
    narrowing = (("ACTOR", 20), ("TARGET", 20), ("TARGET", None), ("ACTOR", 14), ("OUTCOME", None), ("ACTION", 20))
    output.fitted_table(cells, narrowing, middle={"ACTOR", "TARGET"},
                        styles={"OUTCOME": lambda outcome: "" if outcome == "success" else "red"})  # fmt: skip
    if more:
        output.note("More events exist: pass --all to list every one, or --limit to see more per page.")


@app.command("audit")
def audit(
    organization: OrgArg,
    action: Annotated[
        str | None,
        typer.Option("--action", "-a", metavar="ACTION", help="only this action, e.g. organization.member.update"),
    ] = None,
    actor: Annotated[str | None, typer.Option("--actor", metavar="ACTOR", help="only this actor, e.g. user:ID")] = None,
    since: Annotated[
        str | None,
        typer.Option("--since", metavar="TIME", help="from this time on: 2025-01-31, an RFC 3339 time, or 24h, 7d ago"),
    ] = None,
    until: Annotated[str | None, typer.Option("--until", metavar="TIME", help="before this time (same forms)")] = None,
    limit: Annotated[int, typer.Option(metavar="N", help="events per page (1-1000)")] = 100,
    all_pages: Annotated[bool, typer.Option("--all", help="follow every page")] = False,
    fmt: FormatOpt = Format.table,
    profile: ProfileOpt = None,
    url: UrlOpt = None,
) -> None:
    """Read an organization's audit log, newest first (Admin or Owner): who changed members, invitations and keys.

    \b
    Examples:
      hokusai org audit "Acme ML" --since 7d
      hokusai org audit ORG_ID --action api_key.create -f json | jq -r '.[].actor'
    """
    filters: dict[str, Any] = {"action": action, "actor": actor, "since": _moment(since, "--since"),
                               "until": _moment(until, "--until"), "limit": limit}  # fmt: skip
    with _org_command(profile, url) as client:
        organization_id = _organization_id(client, organization)
        if all_pages:
            items, more = list(client.iter_organization_audit_logs(organization_id, **filters)), False
        else:
            page = client.list_organization_audit_logs(organization_id, **filters)
            items, more = page.items, page.next_cursor is not None
        output.show(items, fmt, lambda: _audit_table(items, more=more))


@app.command("usage")
def usage(
    organization: OrgArg,
    period: Annotated[str | None, typer.Option("--period", metavar="YYYY-MM", help="a month (UTC) [this one]")] = None,
    fmt: FormatOpt = Format.table,
    profile: ProfileOpt = None,
    url: UrlOpt = None,
) -> None:
    """Show an organization's usage and billing in a month: totals, overage, and each key's share.

    \b
    Examples:
      hokusai org usage "Acme ML"
      hokusai org usage ORG_ID --period 2025-01 -f json | jq .overage_charges
    """
    if period is not None and not PERIOD.match(period.strip()):
        raise fail(f"--period: '{period}' is not a month: YYYY-MM, e.g. {datetime.now(UTC):%Y-%m}", 2)
    with _org_command(profile, url) as client:
        organization_id = _organization_id(client, organization)
        report = client.get_organization_usage(organization_id, period=period and period.strip())
        if fmt is Format.json:
            output.print_json(report)
            return
        output.panel([
            ("Organization", report.organization_id),
            ("Period", report.period),
            ("Billing plan", escape(report.billing_plan)),
            ("Requests", f"{report.total_requests:,}"),
            ("Predictions", f"{report.total_predictions:,} ({report.included_predictions:,} included)"),
            ("Compute", f"{report.total_compute_ms:,} ms"),
            ("Avg response", f"{report.average_response_time_ms:.1f} ms"),
            ("Error rate", f"{report.error_rate:.1%}"),
            ("Overage", f"${report.overage_charges:,.2f}"),
        ], title=f"Usage in {report.period}")  # fmt: skip
        if not report.keys:
            output.stdout().print("No key was used in this period.")
            return
        cells = {
            "KEY ID": [key.key_id for key in report.keys],
            "NAME": [key.name for key in report.keys],
            "PREFIX": [key.key_prefix for key in report.keys],
            "REQUESTS": [f"{key.requests:,}" for key in report.keys],
            "PREDICTIONS": [f"{key.predictions:,}" for key in report.keys],
            "COMPUTE MS": [f"{key.compute_ms:,}" for key in report.keys],
        }
        output.fitted_table(cells, (("KEY ID", None), ("NAME", 16), ("COMPUTE MS", None), ("NAME", 10)),
                            right={"REQUESTS", "PREDICTIONS", "COMPUTE MS"})  # fmt: skip
