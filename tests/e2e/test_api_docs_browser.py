"""/docs and /redoc in a real browser (Debian's headless Chromium, driven by Playwright), with every request to
another host refused: the pages render from the service alone, with the service's own CSP, and Swagger UI's
"Authorize" dialog lists the bearer schemes, takes the admin token and sends it with "Try it out".

Chromium is the system's (/usr/bin/chromium, `apt-get install chromium`; .ci/run installs it): Playwright never
downloads a browser here. Without it the test skips with the reason, and fails under CI=true.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import pytest

from hokusai_auth.app import create_app
from tests.conftest import ADMIN_TOKEN, make_settings
from tests.servers import serving

if TYPE_CHECKING:
    from playwright.async_api import Browser, ConsoleMessage, Error, Page, Response, Route

pytestmark = pytest.mark.slow

TIMEOUT_MS = 20_000


@pytest.fixture
async def base_url(tmp_path: Path, sqlite_template: Path) -> AsyncIterator[str]:
    database = tmp_path / "hokusai.db"
    shutil.copy(sqlite_template, database)
    app = create_app(make_settings(f"sqlite:///{database}"))
    async with serving(app) as url:
        yield url


class Watched:
    """A page whose requests to any other host are refused and recorded, as are its errors (a CSP violation is a
    console error)."""

    def __init__(self, page: Page, origin: str) -> None:
        self.page = page
        self.origin = origin
        self.foreign: list[str] = []
        self.errors: list[str] = []
        self.failed: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", self._page_error)
        page.on("response", self._response)

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.errors.append(message.text)

    def _page_error(self, error: Error) -> None:
        self.errors.append(str(error))

    def _response(self, response: Response) -> None:
        if response.status >= 400:
            self.failed.append(response.url)

    async def start(self) -> None:
        await self.page.route("**/*", self._route)

    async def _route(self, route: Route) -> None:
        url = route.request.url
        if urlsplit(url).netloc == self.origin:
            await route.continue_()
        else:
            self.foreign.append(url)
            await route.abort()

    def assert_clean(self) -> None:
        assert self.foreign == [], "the docs must not load anything from another host"
        assert self.failed == [], "every asset the page asks for is served"
        assert self.errors == [], "no script error or CSP violation"


async def open_page(browser: Browser, url: str) -> Watched:
    page = await browser.new_page(viewport={"width": 1280, "height": 1000})
    page.set_default_timeout(TIMEOUT_MS)
    watched = Watched(page, urlsplit(url).netloc)
    await watched.start()
    await page.goto(url)
    return watched


async def test_swagger_ui_renders_offline_and_authorize_sends_the_admin_token(
    browser: Browser, base_url: str, tmp_path: Path
) -> None:
    import httpx

    async with httpx.AsyncClient() as client:  # the server runs in this event loop
        spec: dict[str, Any] = (await client.get(f"{base_url}/openapi.json")).json()
    operations = [op for path in spec["paths"].values() for op in path.values()]
    secured = [op for op in operations if op.get("security")]
    assert secured, "the gated operations name their credential"

    watched = await open_page(browser, f"{base_url}/docs")
    page = watched.page
    await page.locator(".opblock").first.wait_for()
    assert await page.locator(".opblock").count() == len(operations), "every operation is on the page"
    assert await page.locator("#operations-keys-list_api_keys").is_visible()
    # Each operation that needs a credential shows its lock; the public ones (validate, health) do not.
    assert await page.locator(".opblock .authorization__btn").count() == len(secured)
    await page.screenshot(path=tmp_path / "docs.png", full_page=True)

    await page.locator("button.authorize").first.click()
    dialog = page.locator(".modal-ux")
    await dialog.wait_for()
    text = await dialog.inner_text()
    assert "adminToken" in text
    assert "serviceToken" in text
    assert "Bearer" in text
    await page.screenshot(path=tmp_path / "authorize.png")
    admin = dialog.locator(".auth-container").filter(has_text="adminToken")
    await admin.locator("input").fill(ADMIN_TOKEN)
    await admin.locator("button.authorize").click()
    await admin.get_by_text("Authorized").wait_for()
    await dialog.locator("button.btn-done").first.click()

    # "Try it out" on a gated operation: Swagger UI sends the token it was given, and the service accepts it.
    operation = page.locator("#operations-keys-list_api_keys")
    await operation.locator(".opblock-summary").click()
    await operation.get_by_role("button", name="Try it out").click()
    await operation.get_by_role("button", name="Execute").click()
    status = operation.locator(".live-responses-table .response .response-col_status").first
    await status.wait_for()
    assert (await status.inner_text()).strip() == "200"
    await page.screenshot(path=tmp_path / "try-it-out.png", full_page=True)

    for name in ("docs.png", "authorize.png", "try-it-out.png"):
        assert (tmp_path / name).stat().st_size > 10_000, f"{name} has content"
    watched.assert_clean()


async def test_redoc_renders_offline(browser: Browser, base_url: str, tmp_path: Path) -> None:
    watched = await open_page(browser, f"{base_url}/redoc")
    page = watched.page
    await page.locator("h2", has_text="Create an API key").wait_for()
    await page.locator("img[alt='redocly logo']").wait_for()
    await page.screenshot(path=tmp_path / "redoc.png")
    watched.assert_clean()
