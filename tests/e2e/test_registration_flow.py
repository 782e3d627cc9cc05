"""A company joins, end to end, as issue 14's "Done when" tells it: real processes, a real SMTP server.

``hokusai-auth serve`` starts while its mail server is down; the company registers, and its verification mail
arrives once the mail server is back. It verifies with the mailed link's token, the operator approves with the
``hokusai`` CLI, the contact signs in with a wallet and claims the organization with the mailed claim link, and
the production key it receives validates with the organization in the answer.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import httpx
import pytest

from tests.conftest import ADMIN_TOKEN, free_port
from tests.e2e.helpers import clean_env, start_auth_service
from tests.smtp import SmtpServer
from tests.wallet import Wallet

pytestmark = pytest.mark.slow

HOKUSAI = str(Path(sys.executable).with_name("hokusai"))
LINK = re.compile(r"https?://\S+?[?&]token=([A-Za-z0-9_\-]+)")


@pytest.fixture
def mail_server() -> Iterator[SmtpServer]:
    server = SmtpServer(auth_require_tls=False)  # not started: the service meets it down
    yield server
    server.stop()


def wait_for_mail(server: SmtpServer, to: str, count: int, within: float = 30.0) -> EmailMessage:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        received = [mail for mail in server.received if to in mail.recipients]
        if len(received) >= count:
            return received[count - 1].message
        time.sleep(0.1)
    raise AssertionError(f"mail {count} to {to} never arrived; received: {[m.recipients for m in server.received]}")


def token_in(message: EmailMessage) -> str:
    text = message.get_body(preferencelist=("plain",))
    assert text is not None
    found = LINK.search(text.get_content())
    assert found is not None, text.get_content()
    return found.group(1)


def sign_in(base: str, wallet: Wallet) -> str:
    challenge = httpx.post(f"{base}/auth/siwe/challenge", json={"wallet_address": wallet.address})
    message = challenge.json()["message"]
    verified = httpx.post(f"{base}/auth/siwe/verify", json={"message": message, "signature": wallet.sign(message)})
    assert verified.status_code == 200, verified.text
    token: str = verified.json()["access_token"]
    return token


def test_a_company_registers_is_approved_and_claims_its_production_key(tmp_path: Path, mail_server: SmtpServer) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    service = start_auth_service(tmp_path, port, SMTP_URL=mail_server.url(), PUBLIC_URL=base, MAIL_SEND_INTERVAL="0.2")
    try:
        service.wait_healthy(f"{base}/health")
        contact = "ana@acme.example"
        registered = httpx.post(f"{base}/register", json={
            "organization_name": "Acme Models", "contact_email": contact, "contact_name": "Ana",
            "use_case": "forecasting demand", "website_url": "https://acme.example",
        })  # fmt: skip
        assert registered.status_code == 201, registered.text
        assert registered.json()["status"] == "pending_email_verification"
        time.sleep(1.0)  # the sender has tried and failed by now: the mail server is down
        assert not mail_server.received
        mail_server.start()
        verification = wait_for_mail(mail_server, contact, 1)
        assert verification.get_body(preferencelist=("html",)) is not None, "multipart: text and HTML"

        verified = httpx.post(f"{base}/registration/verify-email", json={"token": token_in(verification)})
        assert verified.status_code == 200, verified.text
        assert verified.json() == {"status": "pending_approval"}
        status = httpx.post(f"{base}/registration/status", json={"email": contact})
        assert status.json()["status"] == "pending_approval"

        cli_env = clean_env(HOME=str(tmp_path), HOKUSAI_AUTH_SERVICE_URL=base, HOKUSAI_ADMIN_TOKEN=ADMIN_TOKEN)
        approved = subprocess.run(
            [HOKUSAI, "admin", "registrations", "approve", registered.json()["id"]],
            env=cli_env, capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert approved.returncode == 0, approved.stdout + approved.stderr
        claim_mail = wait_for_mail(mail_server, contact, 2)
        claim_token = token_in(claim_mail)

        access = sign_in(base, Wallet())
        claimed = httpx.post(f"{base}/api/v1/claims/{claim_token}", headers={"Authorization": f"Bearer {access}"})
        assert claimed.status_code == 201, claimed.text
        key = claimed.json()["api_key"]
        assert key.startswith("hk_live_")
        valid = httpx.post(f"{base}/api/v1/keys/validate", json={"api_key": key})
        assert valid.status_code == 200, valid.text
        assert valid.json().get("organization_id") == claimed.json()["organization_id"]
        again = httpx.post(f"{base}/api/v1/claims/{claim_token}", headers={"Authorization": f"Bearer {access}"})
        assert again.status_code == 410
        assert again.json()["code"] == "claimed"
    finally:
        printed = service.stop()
    output = printed + (tmp_path / "auth.log").read_text()
    assert "token=" not in output, "mailed tokens are never logged"
    assert claim_token not in output, "the claim token travels in a path: the access log masks it"
