"""``hokusai admin registrations`` and the SDK's registration methods against a real service: what an operator
types and sees, the exit codes of every failure, and a company's whole flow through ``AuthClient``."""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from hokusai import AuthClient, ConflictError, InvalidRequestError, NotFoundError
from hokusai_auth.app import create_app
from tests.conftest import ADMIN_TOKEN, make_settings
from tests.sdk.conftest import LiveService
from tests.sdk.test_cli_commands import Cli, failed
from tests.servers import serving_in_thread
from tests.wallet import Wallet


@dataclass
class RegistrationService:
    live: LiveService
    database: Path

    @property
    def url(self) -> str:
        return self.live.url

    def mailed_token(self, email: str, kind: str) -> str:
        """The token of the last ``kind`` mail to ``email`` (read from the outbox, as the sender would)."""
        with sqlite3.connect(self.database) as connection:
            rows = connection.execute(
                "SELECT text_body FROM mail_outbox WHERE recipient = ? AND kind = ? ORDER BY created_at",
                (email, kind),
            ).fetchall()
        assert rows, f"no {kind} mail to {email}"
        found = re.search(r"\?token=([A-Za-z0-9_-]+)", rows[-1][0])
        assert found is not None
        return found.group(1)

    def mailed(self, email: str, kind: str) -> list[str]:
        with sqlite3.connect(self.database) as connection:
            rows = connection.execute(
                "SELECT text_body FROM mail_outbox WHERE recipient = ? AND kind = ?", (email, kind)
            ).fetchall()
        return [row[0] for row in rows]

    def register(self, **fields: Any) -> dict[str, Any]:
        body = {
            "organization_name": "Acme Robotics",
            "contact_email": f"ops-{uuid.uuid4().hex[:8]}@acme.example",
            "contact_name": "Ada Lovelace",
            "use_case": "Demand forecasts.",
            **fields,
        }
        response = httpx.post(f"{self.url}/register", json=body)
        assert response.status_code == 201, response.text
        answer: dict[str, Any] = response.json()
        return answer

    def pending(self, **fields: Any) -> dict[str, Any]:
        """A registration with its address verified: waiting for an operator."""
        receipt = self.register(**fields)
        token = self.mailed_token(receipt["contact_email"], "registration.verify")
        response = httpx.post(f"{self.url}/registration/verify-email", json={"token": token})
        assert response.status_code == 200, response.text
        return receipt


@pytest.fixture(scope="module")
def registration_service(
    tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path
) -> Iterator[RegistrationService]:
    directory = tmp_path_factory.mktemp("registration-service")
    path = directory / "hokusai.db"
    shutil.copy(sqlite_template, path)
    # One service for the module, many registrations from one address: a roomy allowance. Mail goes to .eml files.
    settings = make_settings(f"sqlite:///{path}", data_dir=directory, registrations_per_hour=1000)
    with serving_in_thread(create_app(settings)) as url:
        yield RegistrationService(LiveService(url), path)


@pytest.fixture
def cli(registration_service: RegistrationService, sdk_env: Path) -> Cli:
    return Cli(registration_service.live, sdk_env)


# ----------------------------------------------------------------------------------------------- the CLI


def test_an_operator_lists_shows_and_approves(cli: Cli, registration_service: RegistrationService) -> None:
    unverified = registration_service.register(organization_name="Unverified Inc")
    waiting = registration_service.pending(organization_name="Waiting GmbH", website_url="https://waiting.example")

    every = {item["id"]: item for item in cli.admin_json("admin", "registrations", "list")}
    assert every[unverified["id"]]["status"] == "pending_email_verification"
    assert every[waiting["id"]]["status"] == "pending_approval"
    assert every[waiting["id"]]["website_url"] == "https://waiting.example"
    pending = cli.admin_json("admin", "registrations", "list", "--status", "pending_approval")
    assert waiting["id"] in {item["id"] for item in pending}
    assert unverified["id"] not in {item["id"] for item in pending}

    table = cli.admin("admin", "registrations", "list", "--status", "pending_approval", COLUMNS="160")
    assert table.exit_code == 0, table.output
    assert "ORGANIZATION" in table.stdout
    assert "Waiting GmbH" in table.stdout
    assert waiting["id"] in table.stdout

    shown = cli.admin("admin", "registrations", "show", waiting["id"], COLUMNS="160")
    assert shown.exit_code == 0, shown.output
    for text in ("Waiting GmbH", "Ada Lovelace", waiting["contact_email"], "Demand forecasts.", "pending_approval"):
        assert text in shown.stdout, text

    approved = cli.admin_json("admin", "registrations", "approve", waiting["id"], "--reason", "known customer")
    assert approved["status"] == "approved"
    assert approved["organization_id"]
    assert approved["decided_by"].startswith("admin")
    assert registration_service.mailed_token(waiting["contact_email"], "registration.approved").startswith("hkc_")

    said = cli.admin("admin", "registrations", "approve", registration_service.pending()["id"])
    assert said.exit_code == 0, said.output
    assert said.stdout.startswith("Approved 'Acme Robotics': organization ")
    assert "the claim link was mailed to" in said.stdout

    line = failed(cli.admin("admin", "registrations", "approve", waiting["id"]), 6)
    assert "this one is approved" in line
    line = failed(cli.admin("admin", "registrations", "reject", unverified["id"]), 6)
    assert "pending_email_verification" in line


def test_an_operator_rejects_with_a_reason(cli: Cli, registration_service: RegistrationService) -> None:
    waiting = registration_service.pending()
    result = cli.admin("admin", "registrations", "reject", waiting["id"], "--reason", "We could not verify you.")
    assert result.exit_code == 0, result.output
    assert f"{waiting['contact_email']} was mailed the reason" in result.stdout
    [mail] = registration_service.mailed(waiting["contact_email"], "registration.rejected")
    assert "We could not verify you." in mail
    shown = cli.admin_json("admin", "registrations", "show", waiting["id"])
    assert shown["status"] == "rejected"
    assert shown["rejection_reason"] == "We could not verify you."


def test_list_follows_every_page(cli: Cli, registration_service: RegistrationService) -> None:
    made = {registration_service.register()["id"] for _ in range(3)}
    page = cli.admin("admin", "registrations", "list", "--limit", "1")
    assert page.exit_code == 0, page.output
    assert "--all" in page.stderr
    every = cli.admin_json("admin", "registrations", "list", "--limit", "1", "--all")
    assert made <= {item["id"] for item in every}


def test_each_failure_is_one_line_with_its_exit_code(cli: Cli, registration_service: RegistrationService) -> None:
    waiting = registration_service.pending()
    assert "not a registration id" in failed(cli.admin("admin", "registrations", "show", "nope"), 2)
    assert "not found" in failed(cli.admin("admin", "registrations", "show", str(uuid.uuid4())), 5)
    assert "--status: one of" in failed(cli.admin("admin", "registrations", "list", "--status", "done"), 2)
    line = failed(cli.admin("admin", "registrations", "reject", waiting["id"], "--reason", "x" * 1001), 2)
    assert line.startswith("error: --reason: ")
    line = failed(cli.run("admin", "registrations", "list", HOKUSAI_AUTH_SERVICE_URL=cli.service.url), 3)
    assert "no admin token configured" in line
    line = failed(cli.admin("admin", "registrations", "list", HOKUSAI_ADMIN_TOKEN="wrong-token"), 4)
    assert "hokusai auth login --admin-token" in line
    assert cli.admin_json("admin", "registrations", "show", waiting["id"])["status"] == "pending_approval"


# ----------------------------------------------------------------------------------------------- the SDK


def test_a_company_registers_and_claims_with_the_sdk(registration_service: RegistrationService, sdk_env: Path) -> None:
    url = registration_service.url
    email = f"sdk-{uuid.uuid4().hex[:8]}@acme.example"
    with AuthClient(url, admin_token=ADMIN_TOKEN) as operator, AuthClient(url) as company:
        receipt = company.register("SDK Corp", email, "Grace Hopper", "Models.", website_url="https://sdk.example")
        assert receipt.status == "pending_email_verification"
        assert receipt.contact_email == email
        assert company.registration_status(email).status == "pending_email_verification"
        with pytest.raises(NotFoundError):
            company.registration_status("nobody@acme.example")
        with pytest.raises(InvalidRequestError) as refused:
            company.verify_registration_email("hkv_unknown")
        assert refused.value.code == "invalid_token"
        token = registration_service.mailed_token(email, "registration.verify")
        assert company.verify_registration_email(token).status == "pending_approval"

        listed = operator.list_registrations(status="pending_approval")
        assert receipt.id in {item.id for item in listed.items}
        assert receipt.id in {item.id for item in operator.iter_registrations(status="pending_approval", limit=1)}
        assert operator.get_registration(receipt.id).use_case == "Models."
        decided = operator.approve_registration(receipt.id)
        assert decided.status == "approved"
        with pytest.raises(ConflictError) as twice:
            operator.reject_registration(receipt.id, reason="changed my mind")
        assert twice.value.code == "not_pending_approval"

        wallet = Wallet()
        challenge = company.siwe_challenge(wallet.address)
        company.siwe_verify(challenge.message, wallet.sign(challenge.message))
        claimed = company.claim_organization(registration_service.mailed_token(email, "registration.approved"))
        assert claimed.organization_id == decided.organization_id
        assert claimed.key_info.organization_id == decided.organization_id
        assert claimed.key_info.environment == "production"
        assert claimed.api_key not in repr(claimed)
        validated = company.validate_key(claimed.api_key, service_id="platform")
        assert validated.is_valid
        assert validated.organization_id == decided.organization_id
        with pytest.raises(ConflictError) as again:
            company.claim_organization(registration_service.mailed_token(email, "registration.approved"))
        assert again.value.code == "claimed"
        assert again.value.status == 410


def test_the_cli_json_is_the_sdk_model(cli: Cli, registration_service: RegistrationService) -> None:
    waiting = registration_service.pending()
    shown = cli.admin("admin", "registrations", "show", waiting["id"], "-f", "json")
    assert shown.exit_code == 0, shown.output
    assert set(json.loads(shown.stdout)) >= {"id", "organization_name", "contact_email", "status", "use_case",
                                             "organization_id", "decided_at"}  # fmt: skip


def test_a_narrow_terminal_keeps_the_ids_whole(cli: Cli, registration_service: RegistrationService) -> None:
    made = registration_service.register(organization_name="A company with a rather long name, Limited")
    narrow = cli.admin("admin", "registrations", "list", COLUMNS="80")
    assert narrow.exit_code == 0, narrow.output
    assert all(len(line) <= 80 for line in narrow.stdout.splitlines())
    assert made["id"] in narrow.stdout
    assert "CONTACT" not in narrow.stdout
    assert "not shown" in narrow.stderr
    wide = cli.admin("admin", "registrations", "list", COLUMNS="200")
    assert made["contact_email"] in wide.stdout
    assert "A company with a rather long name, Limited" in wide.stdout
