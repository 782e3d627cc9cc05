"""``hokusai org`` against a real service, as people signed in with ``hokusai auth login --wallet`` (a keystore
each, a profile each): what they type, see and get as an exit code, from creating an organization to deleting it."""

from __future__ import annotations

import json
import os
import re
import shlex
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from hokusai import AuthClient
from hokusai._config import read_profiles
from hokusai._keys import check_format
from tests.conftest import ADMIN_TOKEN
from tests.docs_blocks import blocks
from tests.sdk.conftest import HOKUSAI_VARIABLES, SERVICE_TOKEN, OrganizationService, write_keystore
from tests.sdk.test_cli_commands import Cli, failed
from tests.terminal import Terminal

PASSWORD = "an organization's keystore"
DOC = Path(__file__).resolve().parents[2] / "docs" / "cli.md"
DOCUMENTED_URL = "https://auth.hokus.ai"
DOCUMENTED_WALLET = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"  # Ana's, in the doc


@dataclass
class Person:
    profile: str
    address: str
    user_id: str
    email: str


class OrgCli(Cli):
    service: OrganizationService

    def __init__(self, service: OrganizationService, config_file: Path) -> None:
        super().__init__(service, config_file)
        self.home = config_file.parent.parent

    def login(self, profile: str = "default") -> Person:
        """Sign in with a new wallet's keystore file, as a person does, into ``profile``."""
        keystore = self.home / f"{profile}-keystore.json"
        address = write_keystore(keystore, PASSWORD)
        result = self.run("auth", "login", "--url", self.service.url, "--wallet", str(keystore), "--profile", profile,
                          stdin=PASSWORD + "\n")  # fmt: skip
        assert result.exit_code == 0, result.output
        stored = read_profiles(self.config_file)[profile]
        return Person(profile, address, stored["user_id"], f"{profile}-{uuid.uuid4().hex[:8]}@example.com")

    def org(self, *args: str, who: Person | None = None, **env: str) -> Any:
        """``hokusai org ARGS`` as ``who`` (default: the default profile); the result."""
        profile = ["--profile", who.profile] if who is not None else []
        return self.run("org", *args, *profile, **env)

    def org_json(self, *args: str, who: Person | None = None) -> Any:
        result = self.org(*args, "-f", "json", who=who)
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)

    def join(self, org: str, by: Person, who: Person, role: str) -> None:
        invited = self.org("invite", org, who.email, "--role", role, who=by)
        assert invited.exit_code == 0, invited.output
        accepted = self.org("accept", self.service.invitation_token(who.email), who=who)
        assert accepted.exit_code == 0, accepted.output


@pytest.fixture
def cli(organization_service: OrganizationService, sdk_env: Path) -> OrgCli:
    return OrgCli(organization_service, sdk_env)


def fits(text: str, columns: int = 80) -> bool:
    return all(len(line) <= columns for line in text.splitlines())


def test_create_list_and_show(cli: OrgCli) -> None:
    owner = cli.login()
    created = cli.org("create", "Acme ML")
    assert created.exit_code == 0, created.output
    assert created.stdout.startswith("Created 'Acme ML' (")
    assert created.stdout.rstrip().endswith("; you are its Owner.")
    assert "hokusai org invite" in created.stderr
    (org,) = cli.org_json("list")
    assert (org["name"], org["role"], org["billing_plan"]) == ("Acme ML", "owner", "free")
    assert org["id"] in created.stdout

    table = cli.org("list", COLUMNS="80")
    assert table.exit_code == 0, table.output
    assert table.stdout.split("\n")[0].split() == ["ID", "NAME", "ROLE", "PLAN", "CREATED"]
    assert org["id"] in table.stdout
    assert "Acme ML" in table.stdout
    assert fits(table.stdout)

    for name_or_id in ("Acme ML", "acme ml", org["id"]):
        shown = cli.org("show", name_or_id, COLUMNS="80")
        assert shown.exit_code == 0, shown.output
        for text in (org["id"], "Your role", "Owner", "Members", "free"):
            assert text in shown.stdout, text
    assert cli.org_json("show", "Acme ML") == org

    assert "not a member of an organization named 'Nope'" in failed(cli.org("show", "Nope"), 5)
    line = failed(cli.org("show", str(uuid.uuid4())), 5)
    assert "Organization not found: it does not exist, or you are not a member" in line
    assert cli.org_json("create", "Acme ML")["name"] == "Acme ML"
    assert "2 of your organizations are named 'Acme ML'" in failed(cli.org("show", "Acme ML"), 2)
    line = failed(cli.org("create", "x" * 201), 2)
    assert line.startswith("error: NAME: ")
    renamed = cli.org_json("rename", org["id"], "Acme Machine Learning")
    assert (renamed["id"], renamed["name"]) == (org["id"], "Acme Machine Learning")
    assert owner.user_id


def test_invite_accept_set_role_and_remove(cli: OrgCli) -> None:
    owner, ana = cli.login(), cli.login("ana")
    org = cli.org_json("create", "Invited Inc")["id"]
    invited = cli.org("invite", "Invited Inc", ana.email)
    assert invited.exit_code == 0, invited.output
    assert f"Invited {ana.email} to 'Invited Inc' as Developer: the link was mailed" in " ".join(invited.stdout.split())
    (pending,) = cli.org_json("invitations", org)
    assert (pending["email"], pending["role"], pending["invited_by"]) == (ana.email, "developer", owner.user_id)

    link = f"{cli.service.url}/invitations/accept?token={cli.service.invitation_token(ana.email)}"
    joined = cli.org("accept", link, who=ana)  # the whole link from the mail, as pasted
    assert joined.exit_code == 0, joined.output
    assert joined.stdout.strip() == f"Joined 'Invited Inc' ({org}) as Developer."
    assert cli.org_json("invitations", org) == []
    line = failed(cli.org("accept", link, who=ana), 2)  # the link works once
    assert "unknown, was already used, or has expired" in line
    assert [item["role"] for item in cli.org_json("list", who=ana)] == ["developer"]

    members = {member["user_id"]: member for member in cli.org_json("members", org, who=ana)}
    assert {user: member["role"] for user, member in members.items()} == {owner.user_id: "owner",
                                                                          ana.user_id: "developer"}  # fmt: skip
    assert members[ana.user_id]["wallet_address"] == ana.address
    assert members[ana.user_id]["invited_by"] == owner.user_id
    table = cli.org("members", org, COLUMNS="80")
    assert table.exit_code == 0, table.output
    assert fits(table.stdout)
    assert owner.user_id in table.stdout
    assert ana.user_id in table.stdout
    assert "owner (you)" in table.stdout
    wide = cli.org("members", org, COLUMNS="200")
    assert ana.address in wide.stdout
    assert "JOINED" in wide.stdout

    changed = cli.org("set-role", "Invited Inc", ana.address, "Admin")  # by wallet; roles in any case
    assert changed.exit_code == 0, changed.output
    assert changed.stdout.strip() == f"{ana.address} is now Admin in 'Invited Inc' (was Developer)."
    assert cli.org_json("set-role", org, ana.user_id, "viewer")["role"] == "viewer"
    assert "'boss' is not a role" in failed(cli.org("set-role", org, ana.user_id, "boss"), 2)
    assert "'boss' is not a role" in failed(cli.org("invite", org, "x@example.com", "--role", "boss"), 2)
    line = failed(cli.org("set-role", org, owner.user_id, "admin"), 6)
    assert "The last Owner can neither leave nor be demoted" in line
    assert "neither a user id nor a wallet address" in failed(cli.org("remove", org, "ana"), 2)
    assert "is not a member of this organization" in failed(cli.org("remove", org, str(uuid.uuid4())), 5)

    assert "pass --yes" in failed(cli.org("remove", org, ana.user_id), 2)  # no terminal to ask on
    removed = cli.org("remove", org, ana.user_id, "--yes")
    assert removed.exit_code == 0, removed.output
    assert removed.stdout.strip() == f"Removed {ana.address} from 'Invited Inc'."
    assert [member["user_id"] for member in cli.org_json("members", org)] == [owner.user_id]
    assert "Organization not found" in failed(cli.org("members", org, who=ana), 5)


def test_organization_keys(cli: OrgCli) -> None:
    owner, dev, viewer = cli.login(), cli.login("dev"), cli.login("viewer")
    org = cli.org_json("create", "Keyed Co")["id"]
    cli.join(org, owner, dev, "developer")
    cli.join(org, owner, viewer, "viewer")

    created = cli.org("create-key", "Keyed Co", "--name", "ci", "--scope", "predict", "--service", "prediction",
                      "--environment", "test", "--rate-limit", "500", "--expires-in-days", "30",
                      "--allowed-ip", "127.0.0.1", who=dev, COLUMNS="80")  # fmt: skip
    assert created.exit_code == 0, created.output
    printed = [word for word in created.stdout.split() if word.startswith("hk_test_") and not word.endswith("***")]
    assert len(printed) == 1
    assert check_format(printed[0]).valid
    assert "shown only this once" in created.stdout
    assert "store it now" in created.stderr
    assert f"Organization         {org}" in created.stdout
    with AuthClient(cli.service.url) as client:
        verdict = client.validate_key(printed[0], service_id="prediction", required_scope="predict",
                                      client_ip="127.0.0.1")  # fmt: skip
    assert verdict.is_valid
    assert verdict.organization_id == org
    assert verdict.user_id == dev.user_id

    other = cli.org_json("create-key", org, "--name", "batch")
    assert other["organization_id"] == org
    assert other["key_info"]["organization_id"] == org
    assert other["api_key"].startswith("hk_live_")

    listed = cli.org_json("keys", org, who=viewer)
    assert [key["key_id"] for key in listed] == [other["key_id"], verdict.key_id]
    assert {key["organization_id"] for key in listed} == {org}
    table = cli.org("keys", "Keyed Co", who=viewer, COLUMNS="80")
    assert table.exit_code == 0, table.output
    assert fits(table.stdout)
    assert table.stdout.split("\n")[0].split()[:3] == ["KEY", "ID", "NAME"]
    for key in listed:
        assert key["key_id"] in table.stdout
    assert "--format json has every field" in table.stderr
    paged = cli.org("keys", org, "--limit", "1", who=viewer)
    assert "More keys exist" in paged.stderr
    assert len(cli.org_json("keys", org, "--limit", "1", "--all", who=viewer)) == 2

    line = failed(cli.org("create-key", org, "--name", "mine", who=viewer), 4)
    assert line == "error: This needs the Developer role or higher in this organization"
    line = failed(cli.org("revoke-key", org, other["key_id"], "--yes", who=dev), 4)
    assert "A Developer revokes only the keys they created" in line
    line = failed(cli.org("create-key", org, "--name", "x", "--rate-limit", "5"), 2)
    assert line.startswith("error: --rate-limit: ")

    assert "pass --yes" in failed(cli.org("revoke-key", org, verdict.key_id or "", who=dev), 2)
    revoked = cli.org("revoke-key", org, verdict.key_id or "", "--yes", who=dev)
    assert revoked.exit_code == 0, revoked.output
    assert revoked.stdout.strip().startswith("Revoked 'ci' (hk_test_")
    again = cli.org("revoke-key", org, verdict.key_id or "", "--yes", "-f", "json", who=dev)
    assert json.loads(again.stdout)["already_revoked"] is True
    assert [key["key_id"] for key in cli.org_json("keys", org, "--active-only")] == [other["key_id"]]
    assert "no key" in failed(cli.org("revoke-key", org, str(uuid.uuid4()), "--yes"), 5)
    assert "that is an API key" in failed(cli.org("revoke-key", org, other["api_key"], "--yes"), 2)


def test_audit_and_usage(cli: OrgCli) -> None:
    owner, viewer = cli.login(), cli.login("viewer")
    org = cli.org_json("create", "Audited Ltd")["id"]
    cli.join(org, owner, viewer, "viewer")
    key = cli.org_json("create-key", org, "--name", "served")

    events = cli.org_json("audit", org)
    actions = [event["action"] for event in events]
    assert actions[0] == "api_key.create"
    assert {"organization.create", "organization.invitation.create", "organization.invitation.accept"} <= set(actions)
    assert events[0]["actor"] == f"user:{owner.user_id}"
    assert events[0]["target_id"] == key["key_id"]
    only = cli.org_json("audit", org, "--action", "api_key.create", "--since", "1h")
    assert [event["target_id"] for event in only] == [key["key_id"]]
    assert cli.org_json("audit", org, "--since", "2000-01-01", "--until", "2000-01-02") == []
    assert len(cli.org_json("audit", org, "--limit", "1", "--all")) == len(events)
    table = cli.org("audit", org, COLUMNS="80")
    assert table.exit_code == 0, table.output
    assert fits(table.stdout)
    assert table.stdout.split("\n")[0].split() == ["TIME", "(UTC)", "ACTION", "OUTCOME", "ACTOR"]
    assert "organization.invitation.accept" in table.stdout
    assert "More events exist" in cli.org("audit", org, "--limit", "1").stderr
    assert "--since: 'yesterday' is neither a time" in failed(cli.org("audit", org, "--since", "yesterday"), 2)
    assert failed(cli.org("audit", org, who=viewer), 4) == (
        "error: This needs the Admin role or higher in this organization")  # fmt: skip

    with AuthClient(cli.service.url, service_token=SERVICE_TOKEN) as service:
        for status in (200, 200, 200, 503):
            service.record_usage(key["key_id"], service_id="platform", endpoint="/predict", status_code=status,
                                 response_time_ms=40, predictions_count=5, compute_ms=12)  # fmt: skip
    deadline = time.monotonic() + 10
    while (report := cli.org_json("usage", org, who=viewer))["total_requests"] < 4 and time.monotonic() < deadline:
        time.sleep(0.1)  # usage is flushed every 0.2 s
    assert (report["total_requests"], report["total_predictions"], report["error_rate"]) == (4, 20, 0.25)
    assert report["keys"] == [{"key_id": key["key_id"], "name": "served", "key_prefix": key["key_info"]["key_prefix"],
                               "requests": 4, "predictions": 20, "compute_ms": 48}]  # fmt: skip
    shown = cli.org("usage", "Audited Ltd", who=viewer, COLUMNS="80")
    assert shown.exit_code == 0, shown.output
    assert fits(shown.stdout)
    for text in (f"Usage in {report['period']}", "Requests      4", "20 (1,000 included)", "25.0%", "$0.00", "served"):
        assert text in shown.stdout, text
    old = cli.org_json("usage", org, "--period", "2020-01")
    assert (old["period"], old["total_requests"], old["keys"]) == ("2020-01", 0, [])
    assert "No key was used in this period." in cli.org("usage", org, "--period", "2020-01").stdout
    assert failed(cli.org("usage", org, "--period", "January"), 2).startswith("error: --period: ")


def test_without_a_session_the_error_says_to_sign_in(cli: OrgCli) -> None:
    for env in ({}, {"HOKUSAI_ADMIN_TOKEN": ADMIN_TOKEN}):  # an admin token does not stand in for a user
        line = failed(cli.run("org", "list", HOKUSAI_AUTH_SERVICE_URL=cli.service.url, **env), 3)
        assert line == (f"error: not signed in at {cli.service.url}: the organization commands act as you; sign in "
                        "with `hokusai auth login --wallet KEYSTORE`")  # fmt: skip
    cli.login("ana")
    line = failed(cli.org("create", "X", "--profile", "ana", "--url", "http://127.0.0.1:9"), 3)
    assert line.endswith("sign in with `hokusai auth login --wallet KEYSTORE --profile ana`"), line
    out = cli.run("auth", "logout", "--profile", "ana")
    assert out.exit_code == 0, out.output
    assert "hokusai auth login --wallet KEYSTORE --profile ana" in failed(cli.org("list", "--profile", "ana"), 3)


def test_delete_asks_first_on_a_terminal(cli: OrgCli) -> None:
    cli.login()
    org = cli.org_json("create", "Doomed")["id"]
    key = cli.org_json("create-key", org, "--name", "doomed key")
    assert "pass --yes" in failed(cli.org("delete", "Doomed"), 2)

    env = {k: v for k, v in os.environ.items() if k not in HOKUSAI_VARIABLES}
    env.update(HOME=str(cli.home), COLUMNS="120")
    hokusai = str(Path(sys.executable).with_name("hokusai"))
    declined = Terminal([hokusai, "org", "delete", "Doomed"], env)
    declined.expect("Its keys stop working at once, for good. [y/N]:")
    declined.type("n")
    assert declined.finish() == 1
    assert "not deleted" in declined.shown
    accepted = Terminal([hokusai, "org", "delete", "Doomed"], env)
    accepted.expect("[y/N]:")
    accepted.type("y")
    assert accepted.finish() == 0, accepted.shown
    assert "Deleted 'Doomed': its keys no longer work" in accepted.shown
    with AuthClient(cli.service.url) as client:
        assert not client.validate_key(key["api_key"]).is_valid
    assert cli.org_json("list") == []


def test_completion_offers_roles_organizations_members_and_keys(cli: OrgCli) -> None:
    from types import SimpleNamespace

    from hokusai.cli import _complete as complete

    assert complete.roles("") == ["owner", "admin", "developer", "viewer"]
    assert complete.roles("d") == ["developer"]
    context: Any = SimpleNamespace(params={})
    assert complete.organizations(context, "") == [], "not signed in: nothing, and no error"
    owner = cli.login()
    org = cli.org_json("create", "Completed")["id"]
    key = cli.org_json("create-key", org, "--name", "tab")
    assert complete.organizations(context, "") == [(org, "Completed (owner)")]
    assert complete.organizations(context, "zzz") == []
    for typed in (org, "Completed"):
        context = SimpleNamespace(params={"organization": typed})
        assert complete.members(context, "") == [(owner.user_id, f"owner {owner.address}")]
        assert complete.organization_key_ids(context, "") == [(key["key_id"], f"tab ({key['key_info']['key_prefix']})")]
    context = SimpleNamespace(params={"organization": "Nope"})
    assert complete.members(context, "") == []


# ----------------------------------------------------------------------------------------------- docs/cli.md


def documented(language: str) -> list[str]:
    """The ``language`` blocks ("" for plain ones) of the Organizations section of docs/cli.md."""
    return [block.text for block in blocks(DOC, language, heading="Organizations")]


def test_the_organizations_section_of_cli_md_runs_as_written(cli: OrgCli, tmp_path: Path) -> None:
    """Each ```bash command of the section, as the shell would pass it (quotes, comments, ``~``), run by two people:
    the Owner, and Ana on a machine of her own; the samples of output and errors are what the commands print."""
    owner_block, ana_block, members_block = documented("bash")
    (sample,) = documented("")
    ana_home = tmp_path / "ana"
    ana_home.mkdir()
    ana_env = {"HOKUSAI_CONFIG_FILE": str(ana_home / ".hokusai" / "config")}
    for home in (cli.home, ana_home):
        write_keystore(home / "keystore.json", PASSWORD)

    def follow(block: str, home: Path, **env: str) -> list[Any]:
        results = []
        for line in block.splitlines():
            words = shlex.split(line.replace(DOCUMENTED_URL, cli.service.url), comments=True)
            assert words[0] == "hokusai", line
            words = [str(home / word[2:]) if word.startswith("~/") else word for word in words[1:]]
            words = [word.replace("hki_...", token) if "hki_..." in word else word for word in words]
            words = [ana_address if word == DOCUMENTED_WALLET else word for word in words]
            result = cli.run(*words, stdin=PASSWORD + "\n", COLUMNS="80", **env)
            assert result.exit_code == 0, f"{line}\n{result.output}"
            results.append(result)
        return results

    token, ana_address = "", ""
    owner = follow(owner_block, cli.home)
    assert "Created 'Acme ML'" in owner[1].stdout
    assert "Invited ana@example.com to 'Acme ML' as Viewer" in " ".join(owner[2].stdout.split())
    key = [word for word in owner[3].stdout.split() if word.startswith("hk_live_") and not word.endswith("***")]
    assert len(key) == 1
    assert " ci " in owner[4].stdout
    assert "api_key.create" in owner[5].stdout
    assert "Usage in 2025-01" in owner[6].stdout

    token = cli.service.invitation_token("ana@example.com")
    ana = follow(ana_block, ana_home, **ana_env)
    ana_address = read_profiles(ana_home / ".hokusai" / "config")["default"]["wallet_address"]
    assert "Joined 'Acme ML'" in ana[1].stdout
    assert re.search(r"Acme ML +viewer", ana[2].stdout)
    refused = failed(cli.run("org", "create-key", "Acme ML", "--name", "mine", **ana_env), 4)
    assert refused in DOC.read_text(), "the documented refusal of a Viewer"

    members, changed, removed = follow(members_block, cli.home)
    shown = sample.splitlines()
    assert shown[0] == '$ hokusai org members "Acme ML"'
    assert members.stdout.splitlines()[0].split() == shown[1].split()
    rows, documented_rows = members.stdout.splitlines()[1:], shown[2:4]
    assert [row.split()[1] for row in rows] == [row.split()[1] for row in documented_rows] == ["owner", "viewer"]
    cut = re.compile(r"\b0x[0-9a-fA-F]{9}…[0-9a-fA-F]{10}\b")  # 80 columns: wallets cut in the middle
    assert all(cut.search(row) for row in [*rows, *documented_rows])
    assert members.stderr.strip() == shown[4]
    assert ana_address[:11] in members.stdout
    assert " ".join(changed.stdout.split()) == f"{ana_address} is now Developer in 'Acme ML' (was Viewer)."
    assert " ".join(removed.stdout.split()) == f"Removed {ana_address} from 'Acme ML'."

    alone = failed(
        cli.run("org", "list", HOKUSAI_CONFIG_FILE=str(tmp_path / "none"), HOKUSAI_AUTH_SERVICE_URL=DOCUMENTED_URL), 3
    )
    assert alone in " ".join(DOC.read_text().split()).replace("`` ", "").replace("``", ""), "the documented refusal"
