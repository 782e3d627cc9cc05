"""The ``hokusai auth`` commands against a real service: what a user types, sees, and gets as an exit code.

Every failure must be one line on stderr, never a traceback, with the exit code documented in
hokusai/cli/_failures.py."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from hokusai._config import read_profiles, write_profile
from hokusai._keys import check_format
from hokusai.cli import app
from tests.conftest import ADMIN_TOKEN, free_port
from tests.sdk.conftest import LiveService


class Cli:
    def __init__(self, service: LiveService, config_file: Path) -> None:
        self.service = service
        self.config_file = config_file
        self.runner = CliRunner()

    def run(self, *args: str, stdin: str | None = None, **env: str) -> Result:
        return self.runner.invoke(
            app, list(args), input=stdin, env=env or None, catch_exceptions=False, prog_name="hokusai"
        )

    def admin(self, *args: str, stdin: str | None = None, **env: str) -> Result:
        settings = {"HOKUSAI_AUTH_SERVICE_URL": self.service.url, "HOKUSAI_ADMIN_TOKEN": ADMIN_TOKEN, **env}
        return self.run(*args, stdin=stdin, **settings)

    def admin_json(self, *args: str, **env: str) -> Any:
        result = self.admin(*args, "--format", "json", **env)
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)


def failed(result: Result, code: int) -> str:
    """The single line a failure printed (asserting the code and the shape)."""
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    return lines[0]


@pytest.fixture
def cli(live_service: LiveService, sdk_env: Path) -> Cli:
    return Cli(live_service, sdk_env)


# ----------------------------------------------------------------------------------------- login and profiles


def test_login_stores_the_service_and_admin_token_privately(cli: Cli) -> None:
    result = cli.run("auth", "login", "--url", cli.service.url, "--admin-token", stdin=ADMIN_TOKEN + "\n")
    assert result.exit_code == 0, result.output
    assert "admin token accepted" in result.stderr
    assert stat.S_IMODE(cli.config_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(cli.config_file.parent.stat().st_mode) == 0o700
    assert read_profiles(cli.config_file)["default"] == {
        "auth_service_url": cli.service.url,
        "admin_token": ADMIN_TOKEN,
    }
    assert ADMIN_TOKEN not in result.output, "the token is never echoed"
    assert cli.run("auth", "whoami").exit_code == 0
    listed = cli.run("auth", "list-keys", "--format", "json")
    assert listed.exit_code == 0
    assert isinstance(json.loads(listed.stdout), list)


def test_login_refuses_a_wrong_token_and_saves_nothing(cli: Cli) -> None:
    result = cli.run("auth", "login", "--url", cli.service.url, "--admin-token", stdin="not-the-token\n")
    assert "Invalid or missing admin token" in failed(result, 4)
    assert not cli.config_file.exists()


def test_login_with_a_mistyped_key_says_so_without_asking_the_service(cli: Cli) -> None:
    key = cli.service.create_key()["api_key"]
    mistyped = key[:-1] + ("A" if key[-1] != "A" else "B")
    result = cli.run("auth", "login", "--url", "http://127.0.0.1:9", "--api-key", stdin=mistyped + "\n")
    assert "mistyped" in failed(result, 1)
    assert not cli.config_file.exists()


def test_login_with_an_api_key_then_whoami_and_validate_use_it(cli: Cli) -> None:
    created = cli.service.create_key(scopes=["read"])
    stored = cli.run("auth", "login", "--url", cli.service.url, "--api-key", "--profile", "me",
                     stdin=created["api_key"] + "\n")  # fmt: skip
    assert stored.exit_code == 0, stored.output
    who = cli.run("auth", "whoami", "--profile", "me", "--format", "json")
    assert who.exit_code == 0, who.output
    report = json.loads(who.stdout)
    assert report["api_key"]["works"] is True
    assert report["api_key"]["key_id"] == created["key_id"]
    assert report["api_key"]["prefix"] == created["api_key"][:11] + "***"
    assert created["api_key"] not in who.stdout
    assert cli.run("auth", "validate", "--profile", "me").exit_code == 0
    assert cli.run("auth", "logout", "--profile", "me").exit_code == 0
    assert "api_key" not in read_profiles(cli.config_file)["me"]


def test_profiles_flags_and_environment_resolve_in_order(cli: Cli) -> None:
    write_profile("default", {"auth_service_url": f"http://127.0.0.1:{free_port()}", "admin_token": "stale"},
                  cli.config_file)  # fmt: skip
    write_profile("staging", {"auth_service_url": cli.service.url, "admin_token": ADMIN_TOKEN}, cli.config_file)
    assert cli.run("auth", "list-keys", "--profile", "staging").exit_code == 0
    assert cli.run("auth", "list-keys", HOKUSAI_PROFILE="staging").exit_code == 0
    failed(cli.run("auth", "list-keys"), 8)  # the default profile points nowhere
    # The environment beats the profile; a flag beats the environment.
    assert (
        cli.run(
            "auth", "list-keys", HOKUSAI_AUTH_SERVICE_URL=cli.service.url, HOKUSAI_ADMIN_TOKEN=ADMIN_TOKEN
        ).exit_code
        == 0
    )
    assert cli.run("auth", "list-keys", "--url", cli.service.url, HOKUSAI_ADMIN_TOKEN=ADMIN_TOKEN).exit_code == 0
    assert "profile 'prod' not found" in failed(cli.run("auth", "list-keys", "--profile", "prod"), 3)


# ----------------------------------------------------------------------------------------- key commands


def test_create_key_shows_the_key_once_with_a_warning(cli: Cli) -> None:
    result = cli.admin("auth", "create-key", "--name", "notebook", "--scope", "read", "--scope", "model:write",
                       "--environment", "test", "--rate-limit", "500", "--allowed-ip", "10.0.0.0/8",
                       "--expires-in-days", "30")  # fmt: skip
    assert result.exit_code == 0, result.output
    keys = [word for word in result.stdout.split() if word.startswith("hk_test_") and not word.endswith("***")]
    assert len(keys) == 1
    assert check_format(keys[0]).valid
    assert "shown only this once" in result.stdout
    assert "store it now" in result.stderr
    assert "read, model:write" in result.stdout
    assert "10.0.0.0/8" in result.stdout


def test_create_key_as_json_for_scripts(cli: Cli) -> None:
    created = cli.admin_json("auth", "create-key", "--name", "ci", "--service", "prediction-api")
    assert check_format(created["api_key"]).valid
    assert created["key_info"]["service_id"] == "prediction"
    assert created["key_info"]["rate_limit_per_hour"] == 1000


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        (["--rate-limit", "5"], "error: --rate-limit: Input should be greater than or equal to 10"),
        (["--service", "nope"], "error: --service: unknown service id; valid service ids: prediction, platform"),
        (["--allowed-ip", "10.0.0.300"], "error: --allowed-ip: not an IPv4/IPv6 address or CIDR"),
        (["--expires-in-days", "400"], "error: --expires-in-days: Input should be less than or equal to 365"),
    ],
)
def test_bad_input_names_the_flag(cli: Cli, flags: list[str], expected: str) -> None:
    assert failed(cli.admin("auth", "create-key", "--name", "x", *flags), 2).startswith(expected)


def test_list_and_get_keys(cli: Cli) -> None:
    owner = "list-owner"
    ids = [cli.admin_json("auth", "create-key", "--name", f"k{n}", "--user-id", owner)["key_id"] for n in range(3)]
    listed = cli.admin_json("auth", "list-keys", "--user-id", owner)
    assert [k["key_id"] for k in listed] == ids[::-1]
    paged = cli.admin("auth", "list-keys", "--user-id", owner, "--limit", "2")
    assert paged.exit_code == 0
    assert "--all" in paged.stderr, "the user is told there is more"
    assert failed(cli.admin("auth", "list-keys", "--limit", "0"), 2).startswith("error: --limit: ")
    every = cli.admin_json("auth", "list-keys", "--user-id", owner, "--limit", "2", "--all")
    assert len(every) == 3
    table = cli.admin("auth", "list-keys", "--user-id", owner)
    assert all(key_id in table.stdout for key_id in ids)
    assert "active" in table.stdout
    shown = cli.admin_json("auth", "get-key", ids[0])
    assert shown["name"] == "k0"
    assert shown["key_prefix"].endswith("***")
    details = cli.admin("auth", "get-key", ids[0])
    assert details.exit_code == 0
    assert "Rate limit" in details.stdout


def test_get_key_mistakes(cli: Cli) -> None:
    assert failed(cli.admin("auth", "get-key", "00000000-0000-4000-8000-000000000000"), 5) == "error: API key not found"
    assert "not a key id" in failed(cli.admin("auth", "get-key", "12345"), 2)
    key = cli.service.create_key()["api_key"]
    result = cli.admin("auth", "get-key", key)
    assert "that is an API key, not a key id" in failed(result, 2)
    assert key not in result.output, "a pasted key is never echoed"


def test_revoke_needs_confirmation_unless_yes(cli: Cli) -> None:
    created = cli.service.create_key()
    assert "pass --yes" in failed(cli.admin("auth", "revoke-key", created["key_id"]), 2)
    assert cli.run("auth", "validate", "--key", created["api_key"], "--url", cli.service.url).exit_code == 0
    revoked = cli.admin("auth", "revoke-key", created["key_id"], "--yes")
    assert revoked.exit_code == 0
    assert "no longer works" in revoked.stdout
    check = cli.run("auth", "validate", "--key", created["api_key"], "--url", cli.service.url)
    assert check.exit_code == 1
    assert "revoked" in check.stdout


def test_rotate_with_and_without_grace(cli: Cli) -> None:
    created = cli.service.create_key(scopes=["read"])
    rotated = cli.admin_json("auth", "rotate-key", created["key_id"], "--grace-period", "600")
    assert rotated["key_info"]["scopes"] == ["read"]
    assert rotated["key_info"]["rotated_from"] == created["key_id"]
    url = ["--url", cli.service.url]
    assert cli.run("auth", "validate", "--key", created["api_key"], *url).exit_code == 0, "grace period"
    assert "already been rotated" in failed(cli.admin("auth", "rotate-key", created["key_id"]), 6)
    again = cli.admin("auth", "rotate-key", rotated["key_id"])
    assert again.exit_code == 0
    assert "has stopped working" in again.stderr
    assert cli.run("auth", "validate", "--key", rotated["api_key"], *url).exit_code == 1
    assert "--grace-period" in failed(cli.admin("auth", "rotate-key", created["key_id"], "--grace-period", "-1"), 2)


def test_update_key(cli: Cli) -> None:
    created = cli.service.create_key(allowed_ips=["10.0.0.1"])
    updated = cli.admin_json("auth", "update-key", created["key_id"], "--rate-limit", "50", "--any-ip", "--scope", "x")
    assert (updated["rate_limit_per_hour"], updated["allowed_ips"], updated["scopes"]) == (50, None, ["x"])
    assert "nothing to change" in failed(cli.admin("auth", "update-key", created["key_id"]), 2)
    both = cli.admin("auth", "update-key", created["key_id"], "--scope", "x", "--all-scopes")
    assert "not both" in failed(both, 2)
    assert cli.admin_json("auth", "get-key", created["key_id"])["scopes"] == ["x"], "a refused update changes nothing"


# ----------------------------------------------------------------------------------------- validate


def test_validate_tells_why_a_key_is_refused(cli: Cli) -> None:
    created = cli.service.create_key(scopes=["read"])
    url = ["--url", cli.service.url]
    ok = cli.run("auth", "validate", "--key", created["api_key"], "--service", "website", *url)
    assert ok.exit_code == 0
    assert created["key_id"] in ok.stdout
    wrong = cli.run("auth", "validate", "--key", created["api_key"], "--service", "prediction", *url)
    assert wrong.exit_code == 1
    assert "Key not authorized for this service" in wrong.stdout
    assert "Valid service ids" in wrong.stdout
    scope = cli.run("auth", "validate", "--key", created["api_key"], "--scope", "train", "--format", "json", *url)
    assert scope.exit_code == 1
    assert json.loads(scope.stdout)["code"] == "insufficient_scope"
    piped = cli.run("auth", "validate", "--key", "-", *url, stdin=created["api_key"] + "\n")
    assert piped.exit_code == 0
    from_env = cli.run("auth", "validate", *url, HOKUSAI_API_KEY=created["api_key"])
    assert from_env.exit_code == 0


def test_validate_catches_typos_offline(cli: Cli) -> None:
    result = cli.run("auth", "validate", "--key", "hk_live_tooShort", "--url", "http://127.0.0.1:9")
    line = failed(result, 1)
    assert "characters after the prefix" in line
    assert "not sent to the service" in line
    assert "not a Hokusai API key" in failed(cli.run("auth", "validate", "--key", "sk-openai-123"), 1)


def test_validate_without_any_key_says_how_to_give_one(cli: Cli) -> None:
    assert "HOKUSAI_API_KEY" in failed(cli.run("auth", "validate"), 3)


# ----------------------------------------------------------------------------------------- failures


def test_wrong_admin_token(cli: Cli) -> None:
    line = failed(cli.admin("auth", "list-keys", HOKUSAI_ADMIN_TOKEN="nope"), 4)
    assert line == (
        "error: Invalid or missing admin token or access token: the admin token from environment (HOKUSAI_ADMIN_TOKEN) "
        "was refused "
        f"by {cli.service.url}; check it, or store another with `hokusai auth login --admin-token`"
    )


def test_no_admin_token(cli: Cli) -> None:
    line = failed(cli.run("auth", "list-keys", "--url", cli.service.url), 3)
    assert line == (
        "error: no admin token configured and not signed in: set HOKUSAI_ADMIN_TOKEN (or ADMIN_TOKEN), run "
        "`hokusai auth login --admin-token`, or sign in with `hokusai auth login --wallet KEYSTORE`"
    ), "no flag is promised: a secret on the command line lands in the shell history"


def test_the_servers_admin_token_variable_works_too(cli: Cli) -> None:
    """README exports ADMIN_TOKEN for `hokusai-auth serve`; the CLI reads it too, first token of a list."""
    url = cli.service.url
    assert cli.run("auth", "list-keys", "--url", url, ADMIN_TOKEN=ADMIN_TOKEN).exit_code == 0
    assert cli.run("auth", "list-keys", "--url", url, ADMIN_TOKEN=f"{ADMIN_TOKEN},an-older-one").exit_code == 0
    who = json.loads(cli.run("auth", "whoami", "--url", url, "-f", "json", ADMIN_TOKEN=ADMIN_TOKEN).stdout)
    assert who["admin_token"] == {"source": "environment (ADMIN_TOKEN)", "works": True}
    # The HOKUSAI_ name wins, as in the service.
    assert failed(cli.run("auth", "list-keys", "--url", url, ADMIN_TOKEN=ADMIN_TOKEN, HOKUSAI_ADMIN_TOKEN="x"), 4)


def test_service_unreachable(cli: Cli) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    line = failed(cli.admin("auth", "create-key", "--name", "x", HOKUSAI_AUTH_SERVICE_URL=url), 8)
    assert line.startswith(f"error: cannot reach the Hokusai auth service at {url}")
    who = cli.admin("auth", "whoami", HOKUSAI_AUTH_SERVICE_URL=url)
    assert failed(who, 8).startswith("error: cannot reach")
    assert "unreachable" in who.stdout


def test_a_key_over_its_quota_exits_7(cli: Cli) -> None:
    created = cli.service.create_key(service_id="prediction", monthly_prediction_limit=0)
    result = cli.run("auth", "validate", "--key", created["api_key"], "--url", cli.service.url)
    assert result.exit_code == 7, result.output
    assert "Monthly prediction limit exceeded" in result.stdout


# ----------------------------------------------------------------------------------------- wording


def test_a_key_one_character_long_is_one_character(cli: Cli) -> None:
    line = failed(cli.run("auth", "validate", "--key", "hk_live_A"), 1)
    assert "this key has 1 character after the prefix, not 38: truncated?" in line


def test_revoking_twice_says_the_second_time_changed_nothing(cli: Cli) -> None:
    created = cli.service.create_key()
    assert "Revoked" in cli.admin("auth", "revoke-key", created["key_id"], "--yes").stdout
    again = cli.admin("auth", "revoke-key", created["key_id"])  # no --yes needed: nothing to confirm
    assert again.exit_code == 0, again.output
    assert "was already revoked on" in again.stdout
    assert "nothing to do" in again.stdout
    assert "Revoked" not in again.stdout
    assert cli.admin_json("auth", "revoke-key", created["key_id"], "--yes")["already_revoked"] is True


def test_logout_twice_says_there_was_nothing_left(cli: Cli) -> None:
    write_profile("default", {"auth_service_url": cli.service.url, "admin_token": ADMIN_TOKEN}, cli.config_file)
    assert "Removed the stored credentials" in cli.run("auth", "logout").stdout
    again = cli.run("auth", "logout")
    assert again.exit_code == 0
    assert "has no stored credentials" in again.stdout
    assert "Removed" not in again.stdout


def test_rotating_a_rotated_key_names_its_replacement(cli: Cli) -> None:
    created = cli.service.create_key()
    newer = cli.admin_json("auth", "rotate-key", created["key_id"])["key_id"]
    line = failed(cli.admin("auth", "rotate-key", created["key_id"]), 6)
    assert line.startswith("error: API key has already been rotated: its replacement is " + newer)
    assert f"hokusai auth rotate-key {newer}" in line


def test_a_refused_token_at_login_does_not_advise_login(cli: Cli) -> None:
    line = failed(cli.run("auth", "login", "--url", cli.service.url, "--admin-token", stdin="nope\n"), 4)
    assert "login" not in line
    assert "nothing saved" in line
    assert not cli.config_file.exists()


def test_a_key_revoked_during_its_grace_period_shows_as_revoked(cli: Cli) -> None:
    graced, plain = cli.service.create_key(user_id="grace-owner"), cli.service.create_key(user_id="grace-owner")
    cli.admin_json("auth", "rotate-key", graced["key_id"], "--grace-period", "600")
    cli.admin_json("auth", "rotate-key", plain["key_id"])
    assert cli.admin("auth", "revoke-key", graced["key_id"], "--yes").exit_code == 0
    details = cli.admin("auth", "get-key", graced["key_id"]).stdout
    assert "revoked since" in details
    assert "rotated" not in details.split("State", 1)[1].splitlines()[0]
    assert "rotated since" in cli.admin("auth", "get-key", plain["key_id"]).stdout
    table = cli.admin("auth", "list-keys", "--user-id", "grace-owner").stdout
    rows = {line.split()[0]: set(line.split()) for line in table.splitlines()[1:] if line.strip()}
    assert "revoked" in rows[graced["key_id"]]
    assert "rotated" not in rows[graced["key_id"]]
    assert "rotated" in rows[plain["key_id"]]
    assert "revoked" not in rows[plain["key_id"]]


def test_whoami_says_the_api_key_and_mlflow_url_and_where_they_come_from(cli: Cli) -> None:
    created = cli.service.create_key()
    who = cli.run("auth", "whoami", "--url", cli.service.url, "-f", "json", HOKUSAI_API_KEY=created["api_key"])
    assert json.loads(who.stdout)["mlflow"] == {
        "tracking_uri": "https://registry.hokus.ai/mlflow",
        "source": "default (Hokusai registry, an API key is configured)",
    }
    table = cli.run("auth", "whoami", "--url", cli.service.url, HOKUSAI_API_KEY=created["api_key"]).stdout
    assert "HOKUSAI_API_ENDPOINT" in table
    stored = cli.run("auth", "login", "--url", cli.service.url, "--api-key", "--api-endpoint", "https://gw.example",
                     stdin=created["api_key"] + "\n")  # fmt: skip
    assert stored.exit_code == 0, stored.output
    assert read_profiles(cli.config_file)["default"]["api_endpoint"] == "https://gw.example"
    mlflow = json.loads(cli.run("auth", "whoami", "-f", "json").stdout)["mlflow"]
    assert mlflow["tracking_uri"] == "https://gw.example/mlflow"
    assert mlflow["source"].startswith("api_endpoint from profile 'default'")
    assert cli.run("auth", "token").stdout == created["api_key"] + "\n"
    revoked_key = "hk_live_A"
    assert "whoami" not in failed(cli.run("auth", "whoami", HOKUSAI_API_KEY=revoked_key), 4)


def test_a_refused_key_in_whoami_is_named_once(cli: Cli) -> None:
    created = cli.service.create_key()
    cli.admin("auth", "revoke-key", created["key_id"], "--yes")
    line = failed(cli.run("auth", "whoami", "--url", cli.service.url, HOKUSAI_API_KEY=created["api_key"]), 4)
    assert line.startswith(f"error: the API key {created['api_key'][:11]}*** from environment (HOKUSAI_API_KEY) "
                           "was refused: ")  # fmt: skip


# ----------------------------------------------------------------------------------------- usage and terminal


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["auth", "create-key"], "error: missing option '--name' / '-n' (see 'hokusai auth create-key --help')"),
        (["auth", "list-keys", "--format", "xml"],
         "error: --format: 'xml' is not one of 'table', 'json' (see 'hokusai auth list-keys --help')"),
        (["auth", "lst-keys"], "error: no such command 'lst-keys'"),
        (["auth", "get-key"], "error: missing argument 'KEY_ID' (see 'hokusai auth get-key --help')"),
        (["auth", "list-keys", "--limit", "many"], "error: --limit: input should be a valid integer"),
    ],
)  # fmt: skip
def test_every_usage_error_is_one_error_line_with_exit_code_2(cli: Cli, args: list[str], expected: str) -> None:
    line = failed(cli.admin(*args), 2)
    assert line.startswith(expected)
    assert "pydantic" not in line
    assert "│" not in line


@pytest.mark.parametrize("columns", [80, 100])
def test_list_keys_fits_a_narrow_terminal_and_keeps_ids_whole(cli: Cli, columns: int) -> None:
    owner = f"narrow-{columns}"
    keys = [cli.service.create_key(user_id=owner, name=f"a rather long key name for column tests {n}",
                                   scopes=["read", "model:write", "predict"]) for n in range(3)]  # fmt: skip
    result = cli.admin("auth", "list-keys", "--user-id", owner, COLUMNS=str(columns))
    table = result.stdout
    lines = [line for line in table.splitlines() if line.strip()]
    assert all(len(line) <= columns for line in lines), table
    header = lines[0].split()
    assert header[:2] == ["KEY", "ID"]
    assert "NAME" in header
    assert "STATE" in header
    rows = lines[1 : 1 + len(keys)]
    assert {row.split()[0] for row in rows} == {key["key_id"] for key in keys}  # ids are copied whole
    assert all(row.split()[-1] == "active" or "active" in row.split() for row in rows)
    assert "--format json has every field" in result.stderr or columns >= 100
    assert json.loads(cli.admin("auth", "list-keys", "--user-id", owner, "-f", "json", COLUMNS="80").stdout)[0][
        "scopes"
    ] == ["read", "model:write", "predict"]


def test_help_keeps_long_flags_whole_at_80_columns_and_shows_examples(cli: Cli) -> None:
    shown = cli.run("auth", "create-key", "--help", COLUMNS="80").stdout
    assert "--monthly-prediction-limit N" in shown
    assert "Examples:" in shown
    assert "<bool>" not in shown
    assert "list[str]" not in shown


def test_completion_offers_services_and_environments() -> None:
    from hokusai.cli._complete import environments, scopes, services

    assert services("") == ["prediction", "platform"]
    assert services("pl") == ["platform"]
    assert environments("d") == ["development"]
    assert "read" in scopes("")
