"""``hokusai auth login --web``: the installed command, run as a process against a real service, shows a one-time
code; the test, as the person at the browser, approves or denies it with another session of theirs while the
command polls. Approved, the command keeps a session of its own where ``--wallet`` keeps one, and later commands
use it. Also the SDK's two calls, and the Python example of docs/identity.md run as written."""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import IO, Any

import httpx
import pytest

from hokusai._config import read_profiles
from tests.docs_blocks import blocks
from tests.sdk.conftest import HOKUSAI_VARIABLES, LiveService
from tests.sdk.test_cli_commands import Cli, failed
from tests.wallet import Wallet, bearer

HOKUSAI = str(Path(sys.executable).with_name("hokusai"))
IDENTITY_GUIDE = Path(__file__).resolve().parents[2] / "docs" / "identity.md"
DOCUMENTED_URL = "https://auth.hokus.ai"
CODE_LINE = re.compile(r"^! First copy your one-time code: ([A-Z]{4}-[A-Z]{4})$")
URL_LINE = re.compile(r"^Open this URL in a browser where you are signed in to the Hokusai dashboard: (\S+)$")
WAIT_S = 30  # a poll every 5 s: the command has its answer well within this


def wallet_sign_in(url: str, wallet: Wallet) -> dict[str, Any]:
    """The person's own browser session (POST /auth/siwe/challenge, /auth/siwe/verify)."""
    message = httpx.post(f"{url}/auth/siwe/challenge", json={"wallet_address": wallet.address}).json()["message"]
    answer = httpx.post(f"{url}/auth/siwe/verify", json={"message": message, "signature": wallet.sign(message)})
    assert answer.status_code == 200, answer.text
    session: dict[str, Any] = answer.json()
    return session


class Running:
    """A command running, its output read as it comes: the lines of one stream (stderr unless ``watch="stdout"``)
    waited for with ``expect``, the other's collected."""

    def __init__(self, process: subprocess.Popen[str], *, watch: str = "stderr") -> None:
        self.process = process
        self.lines: queue.Queue[str] = queue.Queue()
        self.stderr: list[str] = []
        self.stdout: list[str] = []
        assert process.stderr is not None
        assert process.stdout is not None
        watched, other = (process.stderr, process.stdout) if watch == "stderr" else (process.stdout, process.stderr)
        self.seen, collected = (self.stderr, self.stdout) if watch == "stderr" else (self.stdout, self.stderr)
        self.readers = [
            threading.Thread(target=self._read, args=(watched, self.lines.put), daemon=True),
            threading.Thread(target=self._read, args=(other, collected.append), daemon=True),
        ]
        for reader in self.readers:
            reader.start()

    @staticmethod
    def _read(stream: IO[str], put: Callable[[str], None]) -> None:
        for line in stream:
            put(line.rstrip("\n"))

    def expect(self, pattern: re.Pattern[str]) -> re.Match[str]:
        """The first line of the watched stream from here on that matches ``pattern``."""
        while True:
            try:
                line = self.lines.get(timeout=WAIT_S)
            except queue.Empty:
                raise AssertionError(f"never showed {pattern.pattern!r}; showed: {self.seen}") from None
            self.seen.append(line)
            found = pattern.match(line)
            if found is not None:
                return found

    def finish(self) -> tuple[int, str, str]:
        """Exit code, all of stdout, all of stderr."""
        code = self.process.wait(timeout=WAIT_S)
        for reader in self.readers:
            reader.join(timeout=WAIT_S)
        while not self.lines.empty():
            self.seen.append(self.lines.get())
        return code, "\n".join(self.stdout), "\n".join(self.stderr)


def clean_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in HOKUSAI_VARIABLES}
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "BROWSER"):  # no window may open from a test
        env.pop(name, None)
    return {**env, "HOME": str(home)}


@contextmanager
def running(command: list[str], home: Path, *, watch: str = "stderr") -> Iterator[Running]:
    process = subprocess.Popen(command, env=clean_env(home), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        yield Running(process, watch=watch)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def login_web(service: LiveService, home: Path, *extra: str) -> AbstractContextManager[Running]:
    return running([HOKUSAI, "auth", "login", "--url", service.url, "--web", *extra], home)


@pytest.fixture
def cli(session_service: LiveService, sdk_env: Path) -> Cli:
    return Cli(session_service, sdk_env)


def test_login_with_the_browser_then_whoami_keys_and_logout(cli: Cli, tmp_path: Path) -> None:
    wallet = Wallet()
    with login_web(cli.service, tmp_path, "--no-browser") as login:
        user_code = login.expect(CODE_LINE).group(1)
        url = login.expect(URL_LINE).group(1)
        assert url == f"{cli.service.url}/dashboard/device?user_code={user_code}"
        browser = wallet_sign_in(cli.service.url, wallet)  # access tokens live 2 s here: approve at once
        approved = httpx.post(f"{cli.service.url}/auth/device/approve", json={"user_code": user_code.lower()},
                              headers=bearer(browser["access_token"]))  # fmt: skip
        assert approved.status_code == 200, approved.text
        code, stdout, stderr = login.finish()
    assert code == 0, stderr
    assert f"Signed in as {wallet.address} (user {browser['user_id']}) at {cli.service.url}" in stdout
    assert "Waiting for the code to be approved in the browser" in stderr
    config_file = tmp_path / ".hokusai" / "config"
    assert config_file == cli.config_file, "the same HOME as the commands below"
    stored = read_profiles(config_file)["default"]
    assert (stored["user_id"], stored["wallet_address"]) == (browser["user_id"], wallet.address)
    assert stored["session_url"] == stored["auth_service_url"] == cli.service.url
    assert {"access_token", "access_token_expires_at", "refresh_token"} <= stored.keys()
    assert stored["refresh_token"] not in stdout + stderr
    assert stored["access_token"] not in stdout + stderr
    assert stored["refresh_token"] != browser["refresh_token"], "a session of its own"

    # The stored session is what --wallet stores: the same commands use it.
    who = cli.run("auth", "whoami", "-f", "json")
    assert who.exit_code == 0, who.output
    session = json.loads(who.stdout)["session"]
    assert (session["user_id"], session["wallet_address"], session["works"]) == (
        browser["user_id"], wallet.address, True)  # fmt: skip
    created = cli.run("auth", "create-key", "--name", "from the browser", "-f", "json")
    assert created.exit_code == 0, created.output
    assert json.loads(created.stdout)["key_info"]["user_id"] == browser["user_id"]
    out = cli.run("auth", "logout")
    assert out.exit_code == 0, out.output
    assert "refresh_token" not in read_profiles(config_file)["default"]
    browser_session = httpx.post(
        f"{cli.service.url}/auth/token/refresh", json={"refresh_token": browser["refresh_token"]}
    )
    assert browser_session.status_code == 200, "logging the command line out leaves the browser signed in"


def test_a_denied_login_says_so_in_one_line_and_saves_nothing(cli: Cli, tmp_path: Path) -> None:
    with login_web(cli.service, tmp_path) as login:  # no display: no browser is started, the URL is shown
        user_code = login.expect(CODE_LINE).group(1)
        browser = wallet_sign_in(cli.service.url, Wallet())
        denied = httpx.post(f"{cli.service.url}/auth/device/deny", json={"user_code": user_code},
                            headers=bearer(browser["access_token"]))  # fmt: skip
        assert denied.status_code == 200, denied.text
        code, stdout, stderr = login.finish()
    assert code == 4, stderr
    assert stdout == ""
    errors = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert errors == ["error: not signed in: the sign-in request was denied in the browser; nothing saved"]
    assert "Traceback" not in stderr
    assert not (tmp_path / ".hokusai" / "config").exists()


def test_ctrl_c_stops_waiting_cleanly(cli: Cli, tmp_path: Path) -> None:
    with login_web(cli.service, tmp_path, "--no-browser") as login:
        login.expect(CODE_LINE)
        login.expect(re.compile("^Waiting for the code to be approved"))
        login.process.send_signal(signal.SIGINT)
        code, _, stderr = login.finish()
    assert code == 130, stderr
    assert "Cancelled: not signed in; nothing saved" in stderr
    assert "Traceback" not in stderr
    assert "Aborted" not in stderr
    assert not (tmp_path / ".hokusai" / "config").exists()


def test_web_is_one_way_to_sign_in_among_the_others(cli: Cli) -> None:
    for other in (("--admin-token",), ("--api-key",), ("--wallet", "keystore.json")):
        line = failed(cli.run("auth", "login", "--url", cli.service.url, "--web", *other, stdin="x\n"), 2)
        assert "choose one of --web, --wallet, --admin-token and --api-key" in line
    assert not cli.config_file.exists()


def test_the_sdk_starts_and_polls_a_device_sign_in(cli: Cli) -> None:
    from hokusai import AuthClient, AuthenticationError, DeviceSignInPending, Session

    wallet = Wallet()
    with AuthClient(cli.service.url) as client:
        started = client.start_device_sign_in(client_name="a notebook")
        assert started.device_code not in repr(started)
        pending = client.poll_device_sign_in(started.device_code)
        assert isinstance(pending, DeviceSignInPending)
        assert (pending.code, pending.interval) == ("authorization_pending", 5)
        slow = client.poll_device_sign_in(started.device_code)
        assert isinstance(slow, DeviceSignInPending)
        assert (slow.code, slow.interval) == ("slow_down", 10)
        browser = wallet_sign_in(cli.service.url, wallet)
        httpx.post(f"{cli.service.url}/auth/device/approve", json={"user_code": started.user_code},
                   headers=bearer(browser["access_token"]))  # fmt: skip
        too_soon = client.poll_device_sign_in(started.device_code)  # approved, but polled 0 s later
        assert isinstance(too_soon, DeviceSignInPending)
        assert (too_soon.code, too_soon.interval) == ("slow_down", 15)

    with AuthClient(cli.service.url) as client:
        other = client.start_device_sign_in()
        browser = wallet_sign_in(cli.service.url, wallet)
        httpx.post(f"{cli.service.url}/auth/device/approve", json={"user_code": other.user_code},
                   headers=bearer(browser["access_token"]))  # fmt: skip
        session = client.poll_device_sign_in(other.device_code)
        assert isinstance(session, Session)
        assert client.session == session, "the client uses the new session"
        assert client.me().id == browser["user_id"]
        with pytest.raises(AuthenticationError) as raised:
            client.poll_device_sign_in(other.device_code)
        assert raised.value.code == "expired_token"


def test_the_identity_guides_python_example_runs_as_written(session_service: LiveService, tmp_path: Path) -> None:
    (example,) = (
        block.text for block in blocks(IDENTITY_GUIDE, "py", heading="Signing in from the CLI with the browser")
    )
    script = tmp_path / "device_sign_in.py"
    script.write_text(example.replace(DOCUMENTED_URL, session_service.url))
    with running([sys.executable, "-u", str(script)], tmp_path, watch="stdout") as example_run:
        user_code = example_run.expect(re.compile(r"^Approve ([A-Z]{4}-[A-Z]{4}) at http")).group(1)
        browser = wallet_sign_in(session_service.url, Wallet())
        approved = httpx.post(f"{session_service.url}/auth/device/approve", json={"user_code": user_code},
                              headers=bearer(browser["access_token"]))  # fmt: skip
        assert approved.status_code == 200, approved.text
        code, stdout, stderr = example_run.finish()
    assert code == 0, stderr
    assert stdout.splitlines()[-1] == f"signed in as user {browser['user_id']}"
