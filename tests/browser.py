"""A real browser for tests: Debian's headless Chromium (/usr/bin/chromium, `apt-get install chromium`; .ci/run
installs it) driven by Playwright, which never downloads a browser here. Without it a test skips with the reason,
and fails under CI=true. The ``browser`` fixture (tests/e2e/conftest.py) opens it."""

from __future__ import annotations

from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FOUND = CHROMIUM.exists()
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
