"""docs/identity.md, run as written against a real ``hokusai-auth serve`` whose PUBLIC_URL is the address it is
reached at (SIWE checks the message's domain and URI against it).

- Its ```python and ```sh blocks are followed by a reader (tests/docs_blocks.py): a developer signs in from
  Python, checks a token over HTTP, with curl and offline, logs it out; an operator, with the service's
  DATABASE_URL and SECRET_KEY, rotates the signing key. Then the test checks what the rotation section promises:
  a token issued before the rotation keeps working online and offline, the running service switches to the new
  key within its reload interval, and the JWKS lists both keys.
- Its ```html page runs in headless Chromium (Debian's /usr/bin/chromium, as in test_api_docs_browser.py) on the
  service's origin, with a test EIP-1193 wallet injected before the page's script: ``personal_sign`` calls back
  into Python, which signs with eth-account as MetaMask would. The page signs in, refreshes an expired access token
  once for two calls at once, survives a reload, and logs out.
"""

from __future__ import annotations

import asyncio
import base64
import json
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx
import pytest

from hokusai.tokens import TokenVerifier
from tests.conftest import ADMIN_TOKEN, SECRET_KEY, free_port
from tests.docs_blocks import Reader, Walkthrough, blocks, stale_entries
from tests.e2e.helpers import ServerProcess, start_auth_service
from tests.e2e.test_api_docs_browser import TIMEOUT_MS
from tests.wallet import Wallet

if TYPE_CHECKING:
    from playwright.async_api import Browser, Request, Response

pytestmark = pytest.mark.slow

DOC = Path(__file__).resolve().parents[2] / "docs" / "identity.md"
DOCUMENTED_URL = "https://auth.hokus.ai"
PIP = "installs from PyPI; the suite runs in the environment it makes (this checkout, pip install -e)"
NO_CURL = "curl is not installed"
GIVEN_TOKEN = "token = '{token}'\n"  # the fragments that check "the token from the request's Authorization header"
KEY_RELOAD_DEADLINE_S = 45  # instances re-read the signing keys every 30 s


@dataclass
class Auth:
    url: str
    database_url: str
    process: ServerProcess


def start(work: Path, **env: str) -> Auth:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    process = start_auth_service(work, port, PUBLIC_URL=url, **env)
    try:
        process.wait_healthy(f"{url}/health")
    except BaseException:
        process.stop()
        raise
    return Auth(url, f"sqlite:///{work / 'auth.db'}", process)


def sign_in(auth: str, wallet: Wallet) -> dict[str, Any]:
    message = httpx.post(f"{auth}/auth/siwe/challenge", json={"wallet_address": wallet.address}).json()["message"]
    answer = httpx.post(f"{auth}/auth/siwe/verify", json={"message": message, "signature": wallet.sign(message)})
    assert answer.status_code == 200, answer.text
    session: dict[str, Any] = answer.json()
    return session


def kid_of(token: str) -> str:
    header = token.split(".", maxsplit=1)[0]
    kid: str = json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))["kid"]
    return kid


def published_kids(auth: str) -> list[str]:
    return [key["kid"] for key in httpx.get(f"{auth}/.well-known/jwks.json").json()["keys"]]


def validate(auth: str, token: str) -> httpx.Response:
    return httpx.post(f"{auth}/api/v1/tokens/validate", json={"token": token})


# ------------------------------------------------------------------------------------------ the Python examples


def walkthrough(url: str, database_url: str, token: str) -> Walkthrough:
    skipped = {"pip install 'hokusai-ml-platform[tokens]'": PIP}
    if shutil.which("curl") is None:
        skipped["curl "] = NO_CURL
    return Walkthrough(
        doc=DOC,
        replace={DOCUMENTED_URL: url},
        people={
            "developer": {},
            # `hokusai-auth rotate-signing-key` "with the service's configuration"
            "operator": {"DATABASE_URL": database_url, "SECRET_KEY": SECRET_KEY, "ADMIN_TOKEN": ADMIN_TOKEN},
        },
        first="developer",
        values={"url": url, "admin_token": ADMIN_TOKEN, "token": token},
        switch={"hokusai-auth rotate-signing-key": "operator"},
        skipped=skipped,
        preludes={
            "import httpx\n\n\ndef user_of(": GIVEN_TOKEN,
            "from hokusai import AuthenticationError\n": GIVEN_TOKEN,
            "import httpx\nfrom hokusai.tokens import TokenVerifier\n": GIVEN_TOKEN,
        },
        given={"ACCESS_TOKEN": token},
    )


@pytest.fixture(scope="module")
def auth(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Auth]:
    service = start(tmp_path_factory.mktemp("identity-docs"))
    try:
        yield service
    finally:
        service.process.stop()


def test_the_walkthrough_tables_match_the_doc() -> None:
    assert stale_entries(walkthrough("http://auth", "sqlite:///auth.db", "a token")) == []


def test_identity_md_python_and_shell_examples_run_as_written(auth: Auth, tmp_path: Path) -> None:
    wallet = Wallet()
    token = sign_in(auth.url, wallet)["access_token"]  # what the examples receive; the last one logs it out
    kept = sign_in(auth.url, wallet)  # issued before the rotation, and never logged out
    old_kid = kid_of(kept["access_token"])
    assert published_kids(auth.url) == [old_kid]

    with Reader(walkthrough(auth.url, auth.database_url, token), tmp_path) as reader:
        steps = reader.follow()
    assert [(step.kind, step.person, step.skipped) for step in steps] == [
        ("python", "developer", None),  # sign in from Python
        ("python", "developer", None),  # user_of: POST /api/v1/tokens/validate
        ("sh", "developer", None if shutil.which("curl") else NO_CURL),  # the same with curl
        ("sh", "developer", PIP),
        ("python", "developer", None),  # TokenVerifier
        ("python", "developer", None),  # offline does not see the logout; the service does
        ("sh", "operator", None),  # hokusai-auth rotate-signing-key
    ]
    curl, verifier_example, rotation = steps[2], steps[4], steps[6]
    assert curl.skipped or '"valid":true' in curl.output, curl.output
    assert "refused" not in verifier_example.output
    assert validate(auth.url, token).json()["code"] == "session_revoked"

    # The rotation's output is the documented one, and the kid it retired is the one that signed the tokens.
    rotated = rotation.output
    documented = next(block.text for block in blocks(DOC, "text") if "new signing key" in block.text)
    assert documented.splitlines()[0].startswith("new signing key ")
    assert rotated.count("new signing key ") == 1
    assert f"retired {old_kid}: published until " in rotated
    new_kid = rotated.split("new signing key ", 1)[1].split()[0]
    assert new_kid != old_kid
    assert "running instances sign with the new key within 30 s" in rotated

    # "Tokens already issued keep working, online and offline."
    assert validate(auth.url, kept["access_token"]).status_code == 200
    session_id = validate(auth.url, kept["access_token"]).json()["session_id"]
    with TokenVerifier(auth.url) as verifier:
        assert verifier.verify(kept["access_token"]).session_id == session_id

    # "Every running instance reads the keys again within 30 s ... signs with the new key and lists both."
    deadline = time.monotonic() + KEY_RELOAD_DEADLINE_S
    while set(published_kids(auth.url)) != {new_kid, old_kid}:
        assert time.monotonic() < deadline, f"the JWKS still lists {published_kids(auth.url)}"
        time.sleep(0.5)
    fresh = sign_in(auth.url, Wallet())["access_token"]
    assert kid_of(fresh) == new_kid
    refreshed = httpx.post(f"{auth.url}/auth/token/refresh", json={"refresh_token": kept["refresh_token"]})
    assert kid_of(refreshed.json()["access_token"]) == new_kid, "sessions carry on, with tokens of the new key"
    with TokenVerifier(auth.url) as verifier:
        for still_good in (kept["access_token"], fresh):
            verifier.verify(still_good)
        assert verifier.jwks_fetches == 1
    assert validate(auth.url, kept["access_token"]).status_code == 200


# ------------------------------------------------------------------------------------------ the browser example

# An EIP-1193 provider, as a wallet extension injects one before any script of the page runs: one account,
# chain 1, and personal_sign answered by Python (eth-account).
TEST_WALLET = """
window.ethereum = {
  isTestWallet: true,
  async request({ method, params }) {
    if (method === "eth_requestAccounts" || method === "eth_accounts") return [ADDRESS.toLowerCase()];
    if (method === "eth_chainId") return "0x1";
    if (method === "personal_sign") return window.testWalletSign(params[0], params[1]);
    throw Object.assign(new Error(`test wallet: ${method} is not supported`), { code: 4200 });
  },
  on() {},
  removeListener() {},
};
"""


class SigningWallet:
    """The Python side of the test wallet: decodes what the page asks it to sign, as MetaMask does (hex of UTF-8
    bytes, or text), signs it with ``personal_sign`` semantics, and remembers it."""

    def __init__(self) -> None:
        self.wallet = Wallet()
        self.signed: list[str] = []

    def sign(self, data: str, address: str) -> str:
        assert address.lower() == self.wallet.address.lower(), "personal_sign names the connected account"
        text = bytes.fromhex(data[2:]).decode("utf-8") if data.startswith("0x") else data
        self.signed.append(text)
        return self.wallet.sign(text)


@pytest.fixture
def short_lived(tmp_path: Path) -> Iterator[Auth]:
    """A service whose access tokens live 3 s, so the page meets an expired one."""
    service = start(tmp_path, ACCESS_TOKEN_TTL="3")
    try:
        yield service
    finally:
        service.process.stop()


async def test_the_browser_example_signs_in_refreshes_once_survives_a_reload_and_logs_out(
    browser: Browser, short_lived: Auth, tmp_path: Path
) -> None:
    (page_html,) = (block.text for block in blocks(DOC, "html"))
    base = short_lived.url
    app = f"{base}/app/"  # the page on the service's origin, as a reverse proxy would serve it
    wallet = SigningWallet()

    page = await browser.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    requests: list[str] = []
    page.on("request", lambda request: _record(requests, request))
    sessions: list[dict[str, Any]] = []  # every pair the service answered the page

    async def answered(response: Response) -> None:
        if response.url.endswith(("/auth/siwe/verify", "/auth/token/refresh")) and response.status == 200:
            sessions.append(await response.json())

    page.on("response", answered)
    await page.route(app, lambda route: route.fulfill(body=page_html, content_type="text/html; charset=utf-8"))
    await page.expose_function("testWalletSign", wallet.sign)
    await page.add_init_script(TEST_WALLET.replace("ADDRESS", json.dumps(wallet.wallet.address)))
    status = page.locator("#status")

    await page.goto(app)
    assert await status.inner_text() == "Not signed in."
    await page.click("#sign-in")
    await page.get_by_text(f"Signed in as {wallet.wallet.address}.").wait_for()
    await _until(lambda: len(sessions) == 1, "the sign-in's answer was read")
    (message,) = wallet.signed
    assert message.startswith(f"{base.removeprefix('http://')} wants you to sign in with your Ethereum account:\n")
    assert f"\nURI: {base}\n" in message
    assert await page.evaluate("localStorage.length") == 0, "nothing in localStorage"
    stored = await page.evaluate("sessionStorage.getItem('hokusai.refresh_token')")
    assert stored == sessions[-1]["refresh_token"]
    await page.screenshot(path=tmp_path / "signed-in.png")

    # The access token expires; two calls at once find it so, and share one refresh.
    await page.wait_for_timeout(3_500)
    requests.clear()
    await page.dblclick("#who")
    await page.wait_for_function("document.getElementById('status').textContent.startsWith('Signed in as')")
    await _until(lambda: requests.count("GET /auth/me") == 4, "two calls, each sent again after the refresh")
    assert requests.count("POST /auth/token/refresh") == 1, requests
    await _until(lambda: len(sessions) == 2, "the refresh's answer was read")
    async with httpx.AsyncClient(base_url=base) as http:
        alive = await http.post("/api/v1/tokens/validate", json={"token": sessions[-1]["access_token"]})
    assert alive.status_code == 200, "the session lives on"

    # A reload: the access token (memory) is gone, the refresh token (this tab's sessionStorage) brings it back.
    requests.clear()
    await page.reload()
    await page.get_by_text(f"Signed in as {wallet.wallet.address}.").wait_for()
    assert requests.count("POST /auth/token/refresh") == 1, requests
    assert len(wallet.signed) == 1, "no new signature"
    await _until(lambda: len(sessions) == 3, "the refresh's answer was read")

    last = sessions[-1]
    await page.click("#log-out")
    await page.get_by_text("Signed out.").wait_for()
    assert await page.evaluate("sessionStorage.length") == 0
    assert await page.locator("#sign-in").is_visible()
    async with httpx.AsyncClient(base_url=base) as http:
        refused = await http.post("/api/v1/tokens/validate", json={"token": last["access_token"]})
        again = await http.post("/auth/token/refresh", json={"refresh_token": last["refresh_token"]})
    assert refused.json()["code"] == "session_revoked", refused.text
    assert again.json()["code"] == "invalid_refresh_token", again.text
    await page.screenshot(path=tmp_path / "signed-out.png")

    # Signing in again works, with a new challenge and signature.
    await page.click("#sign-in")
    await page.get_by_text(f"Signed in as {wallet.wallet.address}.").wait_for()
    assert len(wallet.signed) == 2
    assert errors == []
    await page.close()


def _record(requests: list[str], request: Request) -> None:
    requests.append(f"{request.method} {urlsplit(request.url).path}")


async def _until(condition: Callable[[], bool], what: str, within: float = 10.0) -> None:
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, what
        await asyncio.sleep(0.05)
