"""``hokusai auth login --wallet``: sign in with a keystore file, then the key commands, ``whoami`` and ``logout``
with the stored session, against a real service whose access tokens live 2 s (so later commands refresh)."""

from __future__ import annotations

import json
import stat
import sys
import time
from pathlib import Path

import httpx
import pytest

from hokusai._config import read_profiles, session_settings, write_profile
from hokusai._models import Session
from tests.conftest import ADMIN_TOKEN, free_port
from tests.sdk.conftest import ACCESS_TOKEN_TTL_S, LiveService, write_keystore
from tests.sdk.test_cli_commands import Cli, failed

PASSWORD = "correct horse battery staple"
EXPIRED = ACCESS_TOKEN_TTL_S + 0.2


@pytest.fixture
def cli(session_service: LiveService, sdk_env: Path) -> Cli:
    return Cli(session_service, sdk_env)


@pytest.fixture
def keystore(tmp_path: Path) -> tuple[Path, str]:
    path = tmp_path / "wallet.json"
    return path, write_keystore(path, PASSWORD)


def login(cli: Cli, path: Path, password: str = PASSWORD) -> dict[str, str]:
    result = cli.run("auth", "login", "--url", cli.service.url, "--wallet", str(path), stdin=password + "\n")
    assert result.exit_code == 0, result.output
    return read_profiles(cli.config_file)["default"]


def refresh(cli: Cli, refresh_token: str) -> httpx.Response:
    return httpx.post(f"{cli.service.url}/auth/token/refresh", json={"refresh_token": refresh_token})


def test_login_with_a_wallet_then_keys_whoami_and_logout(cli: Cli, keystore: tuple[Path, str]) -> None:
    path, address = keystore
    result = cli.run("auth", "login", "--url", cli.service.url, "--wallet", str(path), stdin=PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    assert f"Signed in as {address}" in result.stdout
    stored = read_profiles(cli.config_file)["default"]
    assert stored["wallet_address"] == address
    assert stored["session_url"] == stored["auth_service_url"] == cli.service.url
    assert {"access_token", "access_token_expires_at", "refresh_token", "user_id"} <= stored.keys()
    assert stat.S_IMODE(cli.config_file.stat().st_mode) == 0o600
    assert stored["refresh_token"] not in result.output
    assert stored["access_token"] not in result.output

    # No admin token: the key commands act for the signed-in user, on their own keys.
    created = cli.run("auth", "create-key", "--name", "from my wallet", "-f", "json")
    assert created.exit_code == 0, created.output
    key = json.loads(created.stdout)
    assert key["key_info"]["user_id"] == stored["user_id"]
    time.sleep(EXPIRED)  # the next command refreshes silently and stores the new pair
    listed = cli.run("auth", "list-keys", "-f", "json")
    assert listed.exit_code == 0, listed.output
    assert [entry["key_id"] for entry in json.loads(listed.stdout)] == [key["key_id"]]
    assert listed.stderr == ""
    refreshed = read_profiles(cli.config_file)["default"]
    assert refreshed["refresh_token"] != stored["refresh_token"]
    for command in (("get-key", key["key_id"]), ("update-key", key["key_id"], "--name", "renamed"),
                    ("rotate-key", key["key_id"])):  # fmt: skip
        assert cli.run("auth", *command, "-f", "json").exit_code == 0, command

    who = cli.run("auth", "whoami", "-f", "json")
    assert who.exit_code == 0, who.output
    session = json.loads(who.stdout)["session"]
    assert (session["user_id"], session["wallet_address"], session["works"]) == (stored["user_id"], address, True)
    table = cli.run("auth", "whoami")
    assert f"user {stored['user_id']}, wallet {address}" in table.stdout

    refresh_token = read_profiles(cli.config_file)["default"]["refresh_token"]
    out = cli.run("auth", "logout")
    assert out.exit_code == 0, out.output
    assert f"Ended the session of {address}" in out.stderr
    assert not {"access_token", "refresh_token", "user_id"} & read_profiles(cli.config_file)["default"].keys()
    # The session ended on the service. Its refresh token shows it (the access token lives ACCESS_TOKEN_TTL_S,
    # so on a busy machine it may have expired before it could show "session_revoked").
    refused = refresh(cli, refresh_token)
    assert refused.status_code == 401, refused.text
    line = failed(cli.run("auth", "list-keys"), 3)
    assert "not signed in" in line


def test_the_admin_token_wins_over_the_session(cli: Cli, keystore: tuple[Path, str]) -> None:
    login(cli, keystore[0])
    someone_elses = cli.service.create_key(name="an operator's key")
    listed = cli.run("auth", "list-keys", "-f", "json", HOKUSAI_ADMIN_TOKEN=ADMIN_TOKEN)
    assert someone_elses["key_id"] in {entry["key_id"] for entry in json.loads(listed.stdout)}
    assert "not found" in failed(cli.run("auth", "get-key", someone_elses["key_id"]), 5).lower()


def test_signing_in_again_ends_the_previous_session(cli: Cli, keystore: tuple[Path, str]) -> None:
    first = login(cli, keystore[0])
    second = login(cli, keystore[0])
    assert second["refresh_token"] != first["refresh_token"]
    # By their refresh tokens (access tokens live ACCESS_TOKEN_TTL_S here: too short to tell on a busy machine).
    assert refresh(cli, first["refresh_token"]).status_code == 401  # the first session ended
    assert refresh(cli, second["refresh_token"]).status_code == 200  # the second goes on


def test_a_session_that_ended_elsewhere_says_sign_in_again(cli: Cli, keystore: tuple[Path, str]) -> None:
    stored = login(cli, keystore[0])
    httpx.post(f"{cli.service.url}/auth/logout", headers={"Authorization": f"Bearer {stored['access_token']}"})
    line = failed(cli.run("auth", "list-keys"), 4)
    assert "ended" in line
    assert line.endswith("run `hokusai auth login --wallet KEYSTORE`")
    time.sleep(EXPIRED)
    line = failed(cli.run("auth", "list-keys"), 4)  # now the refresh is refused: the stored session is dropped
    assert "the session has ended" in line
    assert "refresh_token" not in read_profiles(cli.config_file)["default"]


def test_logout_when_the_service_is_unreachable_still_forgets_the_session(cli: Cli) -> None:
    gone = f"http://127.0.0.1:{free_port()}"
    session = Session("a.b.c", "hkr_unused", "user-1", "0x00000000000000000000000000000000000000aa")
    write_profile("default", {"auth_service_url": gone, **session_settings(session, gone)})
    out = cli.run("auth", "logout")
    assert out.exit_code == 0, out.output
    assert "warning: cannot reach the Hokusai auth service" in out.stderr
    assert "may accept it until it expires" in out.stderr
    assert "refresh_token" not in read_profiles(cli.config_file)["default"]


def test_wallet_login_failures_are_one_line(cli: Cli, keystore: tuple[Path, str], tmp_path: Path) -> None:
    path, _ = keystore
    assert "wrong password" in failed(cli.run("auth", "login", "--url", cli.service.url, "--wallet", str(path),
                                              stdin="not it\n"), 4)  # fmt: skip
    assert "cannot read the keystore" in failed(cli.run("auth", "login", "--url", cli.service.url, "--wallet",
                                                        str(tmp_path / "missing.json"), stdin="x\n"), 2)  # fmt: skip
    both = cli.run("auth", "login", "--wallet", str(path), "--admin-token", stdin="x\n")
    assert "choose one of --wallet" in failed(both, 2)
    # Served at another address than its PUBLIC_URL says (as a relay would be): nothing is signed.
    other = f"http://localhost:{cli.service.url.rsplit(':', 1)[1]}"
    line = failed(cli.run("auth", "login", "--url", other, "--wallet", str(path), stdin=PASSWORD + "\n"), 3)
    assert "refusing to sign" in line
    assert not cli.config_file.exists()


def test_without_the_wallet_extra_login_says_what_to_install(
    cli: Cli, keystore: tuple[Path, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "eth_account", None)  # what Python sees when the package is not installed
    result = cli.run("auth", "login", "--url", cli.service.url, "--wallet", str(keystore[0]), stdin=PASSWORD + "\n")
    line = failed(result, 3)
    assert line == "error: signing in with a wallet needs eth-account: pip install 'hokusai-ml-platform[wallet]'"
