"""The wallet sign-in examples of docs/cli.md and docs/sdk.md, run as written against a real service, so they cannot
drift. (They are ```bash and ```py blocks: the documents' ```sh and ```python walkthroughs, tests/e2e, follow a
person without a wallet.)"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import httpx

from hokusai._config import read_profiles
from tests.sdk.conftest import HOKUSAI_VARIABLES, LiveService, write_keystore
from tests.wallet import Wallet

DOCS = Path(__file__).resolve().parents[2] / "docs"
DOCUMENTED_URL = "https://auth.hokus.ai"
PASSWORD = "a keystore password"


def blocks(doc: str, heading: str, language: str) -> list[str]:
    """The ``language`` blocks of the section that starts at ``heading`` (up to the next heading of its level)."""
    text = (DOCS / doc).read_text()
    start = text.index(heading + "\n")
    level = heading.split(" ", maxsplit=1)[0]
    end = text.find(f"\n{level} ", start + len(heading))
    section = text[start : end if end != -1 else None]
    return re.findall(rf"^```{language}\n(.*?)^```", section, re.DOTALL | re.MULTILINE)


def environment(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in HOKUSAI_VARIABLES}
    path = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"  # this checkout's `hokusai`
    return env | {"HOME": str(home), "PATH": path, "KEYSTORE_PASSWORD": PASSWORD}


def test_the_cli_wallet_example(session_service: LiveService, tmp_path: Path) -> None:
    (block,) = blocks("cli.md", "### `hokusai auth login --wallet KEYSTORE [--url URL] [--profile P]`", "bash")
    address = write_keystore(tmp_path / "keystore.json", PASSWORD)  # ~/keystore.json
    outputs = []
    for line in block.splitlines():
        command = line.replace(DOCUMENTED_URL, session_service.url)
        # Typed at a terminal, the first asks for the password; here stdin is not one, so it reads the line.
        result = subprocess.run(["bash", "-c", command], input=PASSWORD + "\n", env=environment(tmp_path),
                                cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False)  # fmt: skip
        assert result.returncode == 0, f"{command}\n{result.stdout}{result.stderr}"
        outputs.append(result.stdout)
        if "login" in command:
            assert f"Signed in as {address}" in result.stdout
    assert len(outputs) == 6
    assert "Signed in" in outputs[2]
    assert address in outputs[2]
    assert "my notebook" in outputs[4]
    assert "refresh_token" not in read_profiles(tmp_path / ".hokusai" / "config")["default"]


def fresh_token(service: LiveService, wallet: Wallet) -> str:
    challenge = httpx.post(f"{service.url}/auth/siwe/challenge", json={"wallet_address": wallet.address})
    message = challenge.json()["message"]
    verified = httpx.post(
        f"{service.url}/auth/siwe/verify", json={"message": message, "signature": wallet.sign(message)}
    )
    return str(verified.json()["access_token"])


def test_the_sdk_wallet_examples(session_service: LiveService, live_service: LiveService, tmp_path: Path) -> None:
    examples = blocks("sdk.md", "## Signing in with a wallet", "py")
    assert len(examples) == 3
    address = write_keystore(tmp_path / "keystore.json", PASSWORD)
    wallet = Wallet()
    outputs: list[str] = []
    for number, example in enumerate(examples):
        prelude, service = "", session_service
        if number == 2:  # a fragment of a service that received a token (from a service whose tokens live 15 min)
            prelude, service = f"token = {fresh_token(live_service, wallet)!r}\n", live_service
        script = tmp_path / f"example-{number}.py"
        script.write_text(prelude + example.replace(DOCUMENTED_URL, service.url))
        result = subprocess.run([sys.executable, script.name], env=environment(tmp_path), cwd=tmp_path,
                                capture_output=True, text=True, timeout=120, check=False)  # fmt: skip
        assert result.returncode == 0, f"{script.name}\n{result.stdout}{result.stderr}"
        outputs.append(result.stdout)
    assert f"signed in: {address}" in outputs[0]
    assert "['my notebook']" in outputs[0]
    assert "(this one)" in outputs[1]
    assert "Logged out" in outputs[1]
    assert not (tmp_path / "session.json").exists(), "keep(None) removed it"
    assert f"wallet {wallet.address}" in outputs[2]
