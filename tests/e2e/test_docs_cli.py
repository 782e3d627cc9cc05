"""docs/cli.md, followed as written: every ```sh command typed into bash on a terminal, against a real
``hokusai-auth serve`` standing in for https://auth.hokus.ai, starting from an empty ``~/.hokusai/config``.

The reader answers the prompts as a person would (the URL, the admin token, the key; ``y`` to revoke), pastes
the key where the doc says to, and copies the key id the doc's ``<key-id>`` stands for from ``create-key``. The
scripts' lines (``echo "$HOKUSAI_ADMIN_TOKEN" | ...``, ``echo "$KEY" | ...``) find those variables set in the
shell, as a script that has them would (not exported, so no other command reads them).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from hokusai._config import read_profiles
from tests.conftest import ADMIN_TOKEN, free_port
from tests.docs_blocks import Reader, Walkthrough, stale_entries
from tests.e2e.helpers import start_auth_service

pytestmark = pytest.mark.slow

DOC = Path(__file__).resolve().parents[2] / "docs" / "cli.md"
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def walkthrough(auth: str, key: str) -> Walkthrough:
    return Walkthrough(
        doc=DOC,
        replace={"https://auth.hokus.ai": auth},
        people={"reader": {}},
        first="reader",
        values={"url": auth, "admin_token": ADMIN_TOKEN, "key": key},
        given={"HOKUSAI_ADMIN_TOKEN": ADMIN_TOKEN, "KEY": key},
    )


@pytest.fixture(scope="module")
def auth(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    work = tmp_path_factory.mktemp("docs-cli")
    port = free_port()
    service = start_auth_service(work, port)
    try:
        service.wait_healthy(f"http://127.0.0.1:{port}/health")
        yield f"http://127.0.0.1:{port}"
    finally:
        service.stop()


def test_the_walkthrough_tables_match_the_doc() -> None:
    assert stale_entries(walkthrough("http://auth", "hk_live_x")) == []


def test_cli_md_runs_as_written(auth: str, tmp_path: Path) -> None:
    given = httpx.post(f"{auth}/api/v1/keys", json={"name": "given", "service_id": "platform"}, headers=ADMIN)
    assert given.status_code == 201, given.text
    walk = walkthrough(auth, given.json()["api_key"])
    with Reader(walk, tmp_path) as reader:
        steps = reader.follow()
    assert [step.skipped for step in steps if step.skipped] == []
    assert len(steps) == 11, [step.text for step in steps]

    # The key the doc created was rotated with a grace period, then revoked at once; its successor works.
    created = httpx.get(f"{auth}/api/v1/keys/{reader.values['key-id']}", headers=ADMIN).json()
    assert (created["name"], sorted(created["scopes"]), created["is_active"]) == (
        "my notebook", ["model:write", "read"], False)  # fmt: skip
    successor = httpx.post(f"{auth}/api/v1/keys/validate", json={"api_key": reader.values["key"]}).json()
    assert successor["is_valid"] is True
    assert successor["key_id"] == created["rotated_to"]

    # Every login stored what it said, where the doc says: ~/.hokusai/config, one section per profile.
    profiles = read_profiles(reader.home("reader") / ".hokusai" / "config")
    assert profiles["default"] == {"auth_service_url": auth, "admin_token": ADMIN_TOKEN, "api_key": walk.values["key"],
                                   "api_endpoint": "https://gw.example.com"}  # fmt: skip
    assert profiles["notebook"] == {"auth_service_url": auth, "api_key": reader.values["key"]}
