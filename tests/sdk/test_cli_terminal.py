"""The installed ``hokusai`` command as a person meets it: in a real pseudo-terminal (prompts, hidden input,
confirmation), with shell completion, and as a light install that never loads the server's dependencies."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import httpx
import pytest

from hokusai._config import read_profiles
from tests.conftest import ADMIN_TOKEN
from tests.sdk.conftest import HOKUSAI_VARIABLES, LiveService
from tests.terminal import Terminal

ROOT = Path(__file__).resolve().parents[2]
HOKUSAI = str(Path(sys.executable).with_name("hokusai"))


def clean_env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in HOKUSAI_VARIABLES}
    env.update(HOME=str(home), COLUMNS="120", **extra)
    return env


def test_revoke_asks_first_and_no_means_no(live_service: LiveService, tmp_path: Path) -> None:
    created = live_service.create_key()
    env = clean_env(tmp_path, HOKUSAI_AUTH_SERVICE_URL=live_service.url, HOKUSAI_ADMIN_TOKEN=ADMIN_TOKEN)
    declined = Terminal([HOKUSAI, "auth", "revoke-key", created["key_id"]], env)
    declined.expect("It stops working at once, for good. [y/N]:")
    declined.type("n")
    assert declined.finish() == 1
    assert "not revoked" in declined.shown
    validate = f"{live_service.url}/api/v1/keys/validate"
    assert httpx.post(validate, json={"api_key": created["api_key"]}).status_code == 200

    accepted = Terminal([HOKUSAI, "auth", "revoke-key", created["key_id"]], env)
    accepted.expect("[y/N]:")
    accepted.type("y")
    assert accepted.finish() == 0
    assert httpx.post(validate, json={"api_key": created["api_key"]}).status_code == 401


def test_interactive_login_hides_the_token(live_service: LiveService, tmp_path: Path) -> None:
    session = Terminal([HOKUSAI, "auth", "login"], clean_env(tmp_path))
    session.expect("Auth service URL [http://127.0.0.1:8000]:")
    session.type(live_service.url)
    session.expect("Store an admin token or an API key?")
    session.type("admin")
    # click writes "Admin token:", then getpass turns echo off (discarding anything typed early) and writes " ".
    session.expect("Admin token: ")
    session.type(ADMIN_TOKEN)
    assert session.finish() == 0, session.shown
    assert ADMIN_TOKEN not in session.shown, "typed without echo"
    assert "Saved the admin token" in session.shown
    profile = read_profiles(tmp_path / ".hokusai" / "config")["default"]
    assert profile == {"auth_service_url": live_service.url, "admin_token": ADMIN_TOKEN}


def test_failures_of_the_real_command_are_one_line_and_an_exit_code(tmp_path: Path) -> None:
    result = subprocess.run([HOKUSAI, "auth", "list-keys", "--url", "http://127.0.0.1:9"], env=clean_env(
        tmp_path, HOKUSAI_ADMIN_TOKEN="x"), capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    assert result.returncode == 8
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("error: cannot reach")
    assert result.stdout == ""


def test_version_and_shell_completion(tmp_path: Path) -> None:
    version = subprocess.run([HOKUSAI, "--version"], capture_output=True, text=True, check=True, timeout=60)
    assert version.stdout.startswith("hokusai ")
    completion = subprocess.run([HOKUSAI], env=clean_env(tmp_path, _HOKUSAI_COMPLETE="complete_bash",
                                COMP_WORDS="hokusai auth rot", COMP_CWORD="2"), capture_output=True, text=True,
                                check=True, timeout=60)  # fmt: skip
    assert completion.stdout.split() == ["rotate-key"]
    # What `hokusai --install-completion` puts in ~/.bashrc evaluates this; asking for it by name does not
    # depend on which shell runs the test (--show-completion guesses from the parent process).
    script = subprocess.run([HOKUSAI], env=clean_env(tmp_path, _HOKUSAI_COMPLETE="source_bash"), capture_output=True,
                            text=True, timeout=60, check=False)  # fmt: skip
    assert "_hokusai_completion" in script.stdout


def test_the_sdk_and_cli_never_load_the_server_or_mlflow(tmp_path: Path) -> None:
    probe = (
        "import sys, hokusai, hokusai._client, hokusai.cli, hokusai.config, hokusai._keys;"
        "heavy = {'fastapi', 'starlette', 'sqlalchemy', 'pydantic', 'uvicorn', 'asyncpg', 'redis', 'bcrypt',"
        " 'mlflow', 'hokusai_auth', 'alembic'};"
        "print(sorted({m.split('.')[0] for m in sys.modules} & heavy))"
    )
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60)
    assert loaded.stdout.strip() == "[]"
    base = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert sorted(dep.split(">")[0].split("[")[0] for dep in base) == ["httpx", "rich", "typer"]


# A base install: every module of the [server] extra is absent (the finder answers as Python does for a package
# that is not installed), then the `hokusai-auth` entry point pyproject.toml declares runs as its script would.
_WITHOUT_THE_SERVER = """
import importlib, re, sys, tomllib
project = tomllib.load(open({pyproject!r}, "rb"))["project"]
absent = {{re.split(r"[\\[<>=]", dep)[0].replace("-", "_") for dep in project["optional-dependencies"]["server"]}}

class NotInstalled:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in absent:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)

sys.meta_path.insert(0, NotInstalled())
module, _, function = project["scripts"]["hokusai-auth"].partition(":")
sys.argv = ["hokusai-auth", *sys.argv[1:]]
getattr(importlib.import_module(module), function)()
"""


@pytest.mark.parametrize("args", [["serve"], ["migrate"], ["--help"]])
def test_hokusai_auth_without_the_server_extra_says_what_to_install(args: list[str]) -> None:
    probe = _WITHOUT_THE_SERVER.format(pyproject=str(ROOT / "pyproject.toml"))
    result = subprocess.run([sys.executable, "-c", probe, *args], capture_output=True, text=True, timeout=60,
                            check=False)  # fmt: skip
    assert result.returncode == 1, result.stderr
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1, result.stderr  # one line, no traceback
    assert result.stderr.startswith("hokusai-auth: ")
    assert "pip install 'hokusai-ml-platform[server]'" in result.stderr


@pytest.mark.parametrize("command", ["create-key", "list-keys", "get-key", "revoke-key", "rotate-key", "validate",
                                     "login", "whoami"])  # fmt: skip
def test_every_contract_command_has_help(command: str, tmp_path: Path) -> None:
    result = subprocess.run([HOKUSAI, "auth", command, "--help"], env=clean_env(tmp_path), capture_output=True,
                            text=True, check=True, timeout=60)  # fmt: skip
    assert "Usage: hokusai auth " + command in result.stdout
