"""The dashboard as a new user meets it, in Debian's headless Chromium (Playwright, no browser download): sign in
with a browser wallet, create a key, copy it, see it validate, see its usage chart, rotate it, revoke it; an
operator signs in with the admin token; a form without its CSRF token changes nothing; the keys page at 375 px
and key creation with the keyboard alone.

Without Chromium the tests skip with the reason, and fail under CI=true.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import sqlite3
import sys
from collections.abc import AsyncIterator
from contextlib import closing
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from hokusai_auth.app import create_app
from tests.conftest import ADMIN_TOKEN, free_port, make_settings
from tests.e2e.dashboard_browser import open_dashboard, sign_in_with_wallet
from tests.sdk.conftest import HOKUSAI_VARIABLES
from tests.servers import serving
from tests.smtp import SmtpServer
from tests.wallet import Wallet

if TYPE_CHECKING:
    from playwright.async_api import Browser

pytestmark = pytest.mark.slow
ARTIFACTS = Path(os.environ.get("HOKUSAI_TEST_ARTIFACTS", Path(__file__).resolve().parents[2] / ".artifacts"))


@pytest.fixture
async def base_url(tmp_path: Path, sqlite_template: Path) -> AsyncIterator[str]:
    database = tmp_path / "hokusai.db"
    shutil.copy(sqlite_template, database)
    app = create_app(make_settings(f"sqlite:///{database}", usage_flush_interval=0.1))
    async with serving(app) as url:
        yield url


async def validate(base_url: str, key: str) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=base_url) as client:
        answer: dict[str, Any] = (await client.post("/api/v1/keys/validate", json={"api_key": key})).json()
        return answer


async def record_usage(base_url: str, key_id: str, predictions: int) -> None:
    async with httpx.AsyncClient(base_url=base_url, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}) as client:
        for _ in range(3):
            response = await client.post(f"/api/v1/usage/{key_id}", json={
                "service_id": "platform", "endpoint": "/predict", "status_code": 200, "response_time_ms": 12,
                "predictions_count": predictions})  # fmt: skip
            assert response.status_code == 200, response.text


async def test_a_wallet_user_creates_copies_uses_rotates_and_revokes_a_key(browser: Browser, base_url: str) -> None:
    dashboard = await open_dashboard(browser, base_url, Wallet())
    page = dashboard.page
    await sign_in_with_wallet(dashboard)
    assert await page.get_by_text("No keys yet").is_visible()

    await page.get_by_label("Name").fill("notebook")
    await page.get_by_role("button", name="Create key").click()
    key = await page.get_by_label("The new key").input_value()
    assert key.startswith("hk_live_")
    await page.get_by_role("button", name="Copy").click()
    await page.get_by_text("Copied to the clipboard.").wait_for()
    assert await page.evaluate("navigator.clipboard.readText()") == key
    answer = await validate(base_url, key)
    assert answer["is_valid"] is True
    await page.get_by_role("button", name="I have stored it").click()
    assert key not in await page.content()  # gone from the page, not merely hidden

    await page.get_by_role("link", name="notebook").click()
    key_id = answer["key_id"]
    await record_usage(base_url, key_id, predictions=7)
    await page.wait_for_timeout(300)  # the usage buffer's flush interval
    await page.reload()
    heights = await page.locator("svg.chart.predictions rect.bar").evaluate_all(
        "bars => bars.map(bar => Number(bar.getAttribute('height')))"
    )
    assert len(heights) == 30
    assert heights[-1] > 0  # today's bar: 21 predictions
    assert "21 in 30 days" in (await page.locator("svg.chart.predictions desc").text_content() or "")
    # README's picture of the dashboard (docs/images/dashboard-key.png is a copy of this one).
    await page.screenshot(path=str(ARTIFACTS / "dashboard-key.png"), full_page=True)

    await page.get_by_role("button", name="Rotate key").click()
    rotated = await page.get_by_label("The new key").input_value()
    assert rotated != key
    assert (await validate(base_url, rotated))["is_valid"] is True
    assert (await validate(base_url, key))["is_valid"] is False  # no grace period asked for

    await page.goto("/dashboard/keys?active_only=true")
    await page.get_by_role("link", name="notebook").click()
    await page.get_by_role("link", name="Revoke this key…").click()
    await page.get_by_role("button", name="Revoke key").click()
    await page.get_by_text("The key was revoked").wait_for()
    assert (await validate(base_url, rotated))["is_valid"] is False
    dashboard.assert_clean()
    await dashboard.context.close()


async def test_an_operator_signs_in_with_the_admin_token_and_a_forged_form_changes_nothing(
    browser: Browser, base_url: str
) -> None:
    dashboard = await open_dashboard(browser, base_url)
    page = dashboard.page
    await page.goto("/dashboard/sign-in")
    await page.get_by_label("Admin token").fill("not-the-token")
    await page.get_by_role("button", name="Sign in as operator").click()
    await page.get_by_text("That is not an admin token of this service.").wait_for()
    await page.get_by_label("Admin token").fill(ADMIN_TOKEN)
    await page.get_by_role("button", name="Sign in as operator").click()
    await page.wait_for_url("**/dashboard/keys")
    assert await page.get_by_role("heading", name="All API keys").is_visible()

    # A form posted with another token than the page's (what a forged cross-site form would carry).
    await page.locator('form[action="/dashboard/keys"] input[name="csrf"]').evaluate("input => input.value = 'x'")
    await page.get_by_label("Name").fill("forged")
    await page.get_by_role("button", name="Create key").click()
    await page.get_by_role("heading", name="This form has expired").wait_for()
    await page.goto("/dashboard/keys")
    assert await page.get_by_text("No keys yet").is_visible()
    dashboard.assert_clean()
    await dashboard.context.close()


async def test_the_keys_page_fits_375_px_and_a_key_is_created_with_the_keyboard_alone(
    browser: Browser, base_url: str
) -> None:
    dashboard = await open_dashboard(browser, base_url, Wallet(), width=375)
    page = dashboard.page
    await sign_in_with_wallet(dashboard)
    assert await page.evaluate("document.documentElement.scrollWidth") <= 375  # nothing scrolls sideways
    shot = ARTIFACTS / "dashboard-keys-375px.png"  # Playwright makes the folder
    await page.screenshot(path=str(shot), full_page=True)

    for _ in range(40):  # Tab through the page to the name field, as a keyboard user would
        await page.keyboard.press("Tab")
        if await page.evaluate("document.activeElement.id") == "key-name":
            break
    else:
        raise AssertionError("the key's name field cannot be reached with Tab")
    await page.keyboard.type("keyboard key")
    await page.keyboard.press("Enter")  # submits the form
    key = await page.get_by_label("The new key").input_value()
    assert (await validate(base_url, key))["is_valid"] is True
    dashboard.assert_clean()
    await dashboard.context.close()


@pytest.fixture
async def mailing_base_url(tmp_path: Path, sqlite_template: Path, smtp_server: SmtpServer) -> AsyncIterator[str]:
    database = tmp_path / "hokusai.db"
    shutil.copy(sqlite_template, database)
    settings = make_settings(f"sqlite:///{database}", smtp_url=smtp_server.url(), mail_send_interval=0.05)
    async with serving(create_app(settings)) as url:
        yield url


async def test_an_owner_invites_by_mail_and_the_invitee_accepts_from_the_link(
    browser: Browser, mailing_base_url: str, smtp_server: SmtpServer
) -> None:
    owner = await open_dashboard(browser, mailing_base_url, Wallet())
    await sign_in_with_wallet(owner)
    page = owner.page
    await page.get_by_role("link", name="Organizations").click()
    assert await page.get_by_text("You are in no organization yet").is_visible()
    await page.get_by_label("Name").fill("Acme ML")
    await page.get_by_role("button", name="Create organization").click()
    await page.get_by_role("heading", name="Acme ML").wait_for()
    await page.get_by_label("Email address").fill("dana@acme.example")
    await page.get_by_role("button", name="Send invitation").click()
    await page.get_by_text("The invitation was mailed.").wait_for()

    message = await asyncio.to_thread(smtp_server.wait_for, "dana@acme.example")
    text = message.get_body(("plain",))
    assert text is not None
    link = re.search(r"http://\S+/invitations/accept\?token=\S+", text.get_content())
    assert link is not None
    accept_path = link.group(0).split("8000", 1)[1]  # PUBLIC_URL is the default; the path is what matters

    invitee = await open_dashboard(browser, mailing_base_url, Wallet())
    await invitee.page.goto(accept_path)
    await invitee.page.get_by_role("button", name="Sign in with wallet").click()
    await invitee.page.get_by_role("button", name="Accept the invitation").click()
    await invitee.page.get_by_text("Welcome: you are a member now.").wait_for()
    assert await invitee.page.get_by_role("heading", name="Acme ML").is_visible()
    await page.reload()
    assert await page.get_by_role("cell", name="developer").count() == 1  # the owner sees the new Developer
    owner.assert_clean()
    invitee.assert_clean()
    await owner.context.close()
    await invitee.context.close()


def mailed_token(database: Path, kind: str, path: str) -> str:
    """The token of the link in the newest queued mail of ``kind`` (the outbox keeps a body until it is sent)."""
    with closing(sqlite3.connect(database)) as connection:
        row = connection.execute(
            "SELECT text_body FROM mail_outbox WHERE kind = ? ORDER BY created_at DESC LIMIT 1", (kind,)
        ).fetchone()
    found = re.search(re.escape(path) + r"\?token=(\S+)", row[0])
    assert found is not None, row[0]
    return found.group(1)


async def test_a_company_verifies_its_address_and_an_operator_approves_it_in_the_queue(
    browser: Browser, base_url: str, tmp_path: Path
) -> None:
    company = await open_dashboard(browser, base_url)
    page = company.page
    await page.goto("/register")
    for label, value in (("Company name", "Beta Labs"), ("Your name", "Bo"), ("Your work email", "bo@beta.example"),
                         ("What you will use Hokusai for", "Ranking")):  # fmt: skip
        await page.get_by_label(label).fill(value)
    await page.get_by_role("button", name="Register").click()
    await page.get_by_role("heading", name="Check your mail").wait_for()
    token = mailed_token(tmp_path / "hokusai.db", "registration.verify", "/registration/verify")
    await page.goto(f"/registration/verify?token={token}")
    await page.get_by_role("button", name="Verify my address").click()
    await page.get_by_role("heading", name="Address verified").wait_for()

    operator = await open_dashboard(browser, base_url)
    page = operator.page
    await page.goto("/dashboard/sign-in")
    await page.get_by_label("Admin token").fill(ADMIN_TOKEN)
    await page.get_by_role("button", name="Sign in as operator").click()
    await page.get_by_role("link", name="Registrations").click()
    await page.get_by_role("heading", name="Beta Labs").wait_for()
    await page.get_by_role("button", name="Approve").click()
    await page.get_by_text("Approved: the organization exists").wait_for()
    assert await page.get_by_text("No registrations with this status.").is_visible()  # the queue is empty again
    mailed_token(tmp_path / "hokusai.db", "registration.approved", "/claim")  # the claim link went out
    company.assert_clean()
    operator.assert_clean()
    await company.context.close()
    await operator.context.close()


@pytest.fixture
async def public_base_url(tmp_path: Path, sqlite_template: Path) -> AsyncIterator[str]:
    """A service whose PUBLIC_URL is where it is served: the links it hands out open in the browser."""
    database = tmp_path / "hokusai.db"
    shutil.copy(sqlite_template, database)
    port = free_port()
    settings = make_settings(f"sqlite:///{database}", public_url=f"http://127.0.0.1:{port}")
    async with serving(create_app(settings), port=port) as url:
        yield url


async def test_hokusai_auth_login_web_completes_through_the_dashboard(
    browser: Browser, public_base_url: str, tmp_path: Path
) -> None:
    environment = {name: value for name, value in os.environ.items() if name not in HOKUSAI_VARIABLES}
    command = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).with_name("hokusai")), "auth", "login", "--url", public_base_url, "--web",
        "--no-browser", stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE, env={**environment, "HOME": str(tmp_path)},
    )  # fmt: skip
    assert command.stderr is not None
    url = ""
    while not url:
        line = (await asyncio.wait_for(command.stderr.readline(), 30)).decode()
        assert line, "the command ended before it showed the URL"
        if line.startswith("Open this URL"):
            url = line.rsplit(" ", 1)[1].strip()
    assert url.startswith(f"{public_base_url}/dashboard/device?user_code=")

    wallet = Wallet()
    person = await open_dashboard(browser, public_base_url, wallet)
    await person.page.goto(url)  # not signed in yet: the sign-in page, which comes back here
    await person.page.get_by_role("button", name="Sign in with wallet").click()
    await person.page.get_by_role("button", name="Approve").click()
    await person.page.get_by_text("Your terminal is signed in now").wait_for()
    stdout, stderr = await asyncio.wait_for(command.communicate(), 30)
    assert command.returncode == 0, stderr.decode()
    assert wallet.address in stdout.decode() + stderr.decode()
    person.assert_clean()
    await person.context.close()
