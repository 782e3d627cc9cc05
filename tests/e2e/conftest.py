"""Fixtures of the end-to-end tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import pytest

from tests.browser import CHROMIUM, CHROMIUM_ARGS, CHROMIUM_FOUND
from tests.conftest import unavailable

if TYPE_CHECKING:
    from playwright.async_api import Browser


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    try:
        from playwright.async_api import async_playwright
    except ImportError as exc:
        unavailable("Playwright", f"{exc}; install the [dev] extra")
    if not CHROMIUM_FOUND:
        unavailable("Chromium", f"{CHROMIUM} not found; apt-get install chromium")
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            await launched.close()
