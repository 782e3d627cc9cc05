"""The dashboard in a real browser: a served app, a Chromium page with a test wallet (an EIP-1193 provider whose
``personal_sign`` calls back into the test, which signs with eth-account), and the page's hygiene (nothing
loaded from another host, no script error or CSP violation)."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from tests.wallet import Wallet

if TYPE_CHECKING:
    from playwright.async_api import Browser, BrowserContext, ConsoleMessage, Page

TIMEOUT_MS = 20_000
# The provider a wallet extension would inject: only what the dashboard asks for.
PROVIDER = """
window.ethereum = {
  isHokusaiTestWallet: true,
  async request({method, params}) {
    if (method === "eth_requestAccounts" || method === "eth_accounts") return [window.__walletAddress];
    if (method === "eth_chainId") return "0x1";
    if (method === "personal_sign") return await window.hokusaiWalletSign(params[0], params[1]);
    throw Object.assign(new Error(`unsupported method ${method}`), {code: 4200});
  },
};
"""


class DashboardPage:
    def __init__(self, context: BrowserContext, page: Page, origin: str) -> None:
        self.context = context
        self.page = page
        self.origin = origin
        self.errors: list[str] = []
        self.foreign: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.errors.append(str(error)))

    def _console(self, message: ConsoleMessage) -> None:
        # A page answered 4xx on purpose (a refused token, a forged form) is logged by Chromium as a failed load;
        # the tests check those statuses themselves. Anything else logged as an error is a fault of the page.
        if message.type == "error" and not message.text.startswith("Failed to load resource: the server responded"):
            self.errors.append(message.text)

    def assert_clean(self) -> None:
        assert self.foreign == [], "the dashboard loads nothing from another host"
        assert self.errors == [], "no script error or CSP violation"


async def open_dashboard(
    browser: Browser, base_url: str, wallet: Wallet | None = None, *, width: int = 1280
) -> DashboardPage:
    context = await browser.new_context(viewport={"width": width, "height": 900}, base_url=base_url)
    await context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base_url)
    page = await context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    origin = urlsplit(base_url).netloc
    watched = DashboardPage(context, page, origin)

    async def route(route: object) -> None:
        request_url = route.request.url  # type: ignore[attr-defined]
        if urlsplit(request_url).netloc == origin:
            await route.continue_()  # type: ignore[attr-defined]
        else:
            watched.foreign.append(request_url)
            await route.abort()  # type: ignore[attr-defined]

    await page.route("**/*", route)
    if wallet is not None:

        def sign(hex_message: str, _address: str) -> str:
            return wallet.sign(bytes.fromhex(hex_message.removeprefix("0x")).decode())

        await page.expose_function("hokusaiWalletSign", sign)
        await page.add_init_script(f"window.__walletAddress = {wallet.address!r};" + PROVIDER)
    return watched


async def sign_in_with_wallet(dashboard: DashboardPage) -> None:
    page = dashboard.page
    await page.goto("/dashboard")
    await page.get_by_role("button", name="Sign in with wallet").click()
    await page.wait_for_url("**/dashboard/keys")
