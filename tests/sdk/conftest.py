"""A real auth service on a free port for the SDK and CLI tests, served in a thread (``tests.servers``) so blocking
code (the sync client, the CLI) can call it; plus an environment with no Hokusai configuration of the machine's."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import httpx
import pytest

import hokusai.config
from hokusai_auth.app import create_app
from tests import servers
from tests.conftest import ADMIN_TOKEN, free_port, make_settings
from tests.servers import serving_in_thread

SERVICE_TOKEN = "sdk-test-service-token-" + "s" * 24
HOKUSAI_VARIABLES = ("HOKUSAI_API_KEY", "HOKUSAI_ADMIN_TOKEN", "ADMIN_TOKEN", "HOKUSAI_AUTH_SERVICE_URL",
                     "HOKUSAI_API_ENDPOINT", "HOKUSAI_PROFILE", "HOKUSAI_CONFIG_FILE", "HOKUSAI_DEBUG",
                     "MLFLOW_TRACKING_URI", "MLFLOW_TRACKING_TOKEN")  # fmt: skip


class LiveService:
    def __init__(self, url: str) -> None:
        self.url = url
        self.admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}

    def create_key(self, **fields: Any) -> dict[str, Any]:
        body = {"name": "sdk test", "service_id": "platform", **fields}
        response = httpx.post(f"{self.url}/api/v1/keys", json=body, headers=self.admin)
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        return created


@pytest.fixture(scope="module")
def live_service(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Iterator[LiveService]:
    """One service per test module (SQLite, bcrypt cost 4, a service token for usage reporting)."""
    import shutil

    path = tmp_path_factory.mktemp("sdk-service") / "hokusai.db"
    shutil.copy(sqlite_template, path)
    settings = make_settings(f"sqlite:///{path}", service_tokens=SERVICE_TOKEN, usage_flush_interval=0.2)
    with serving_in_thread(create_app(settings)) as url:
        yield LiveService(url)


ACCESS_TOKEN_TTL_S = 2  # a token lives 1-2 s: exp counts from a whole second


@pytest.fixture(scope="module")
def session_service(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Iterator[LiveService]:
    """A service for wallet sign-in: its PUBLIC_URL is the URL it is served at (so the SIWE domain is the one the
    client talks to, as in a real deployment), and its access tokens live ACCESS_TOKEN_TTL_S, so a test sees them
    expire and be refreshed."""
    import shutil

    path = tmp_path_factory.mktemp("session-service") / "hokusai.db"
    shutil.copy(sqlite_template, path)
    port = free_port()
    settings = make_settings(f"sqlite:///{path}", public_url=f"http://127.0.0.1:{port}",
                             access_token_ttl=ACCESS_TOKEN_TTL_S)  # fmt: skip
    with contextlib.ExitStack() as stack:
        with mock.patch.object(servers, "free_port", return_value=port):  # the port PUBLIC_URL names
            url = stack.enter_context(serving_in_thread(create_app(settings)))
        yield LiveService(url)


class OrganizationService(LiveService):
    """A service for the organization tests: wallet sign-in works at its URL, and the invitations it mails can be
    read from its outbox (mail is never sent by a service under test)."""

    def __init__(self, url: str, database: Path) -> None:
        super().__init__(url)
        self.database = database

    def invitation_token(self, email: str) -> str:
        """The token of the last invitation mailed to ``email``, from the link, as the invited would find it."""
        import re
        import sqlite3

        from hokusai_auth.organizations.mails import ACCEPT_PATH, INVITATION_KIND

        with contextlib.closing(sqlite3.connect(self.database)) as connection:
            rows = connection.execute(
                "SELECT text_body FROM mail_outbox WHERE recipient = ? AND kind = ? ORDER BY created_at",
                (email, INVITATION_KIND),
            ).fetchall()
        assert rows, f"no invitation mailed to {email}"
        found = re.search(rf"{re.escape(self.url + ACCEPT_PATH)}\?token=([A-Za-z0-9_-]+)", rows[-1][0])
        assert found is not None, rows[-1][0]
        return found.group(1)


@pytest.fixture(scope="module")
def organization_service(
    tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path
) -> Iterator[OrganizationService]:
    """A service for organizations: its PUBLIC_URL is the URL it is served at (wallet sign-in, and the links in
    invitation mails), a service token for usage reports flushed every 0.2 s, and its SQLite file to read the
    outbox from."""
    import shutil

    path = tmp_path_factory.mktemp("organization-service") / "hokusai.db"
    shutil.copy(sqlite_template, path)
    port = free_port()
    settings = make_settings(f"sqlite:///{path}", public_url=f"http://127.0.0.1:{port}", service_tokens=SERVICE_TOKEN,
                             usage_flush_interval=0.2)  # fmt: skip
    with contextlib.ExitStack() as stack:
        with mock.patch.object(servers, "free_port", return_value=port):  # the port PUBLIC_URL names
            url = stack.enter_context(serving_in_thread(create_app(settings)))
        yield OrganizationService(url, path)


@pytest.fixture
def sdk_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """No Hokusai settings from the machine: an empty HOME, its own config file path; returns that path."""
    for name in HOKUSAI_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    config_file = tmp_path / ".hokusai" / "config"
    hokusai.config.reset()
    yield config_file
    hokusai.config.reset()


def write_keystore(path: Path, password: str) -> str:
    """An Ethereum keystore (V3 JSON) of a new account at ``path``; returns its address. PBKDF2 with a low
    iteration count keeps decrypting it fast (a real one uses scrypt and takes about a second)."""
    import json

    from eth_account import Account

    account = Account.create()
    path.write_text(json.dumps(Account.encrypt(account.key, password, kdf="pbkdf2", iterations=2)))
    address: str = account.address
    return address
