"""Playwright driving Debian's Chromium (/usr/bin/chromium): no browser download."""

import io
import os
import shutil

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-quic", "--no-first-run",
]


# Function scope on purpose: while Playwright's sync API is running, an asyncio loop is
# active in this thread and Django's connection handler (an asgiref Local) hands out other
# connection objects, which would leak into every later test of the session.
@pytest.fixture
def browser():
    if not (os.path.exists(CHROMIUM) or shutil.which("chromium")):
        pytest.skip("Debian's chromium is not installed (make test installs it when run as root)")
    playwright_sync = pytest.importorskip("playwright.sync_api")
    # Playwright's sync API runs an event loop in this thread; the ORM calls the test makes
    # around it are still synchronous and safe.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with playwright_sync.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM if os.path.exists(CHROMIUM) else shutil.which("chromium"),
            args=CHROMIUM_ARGS, headless=True,
        )
        yield browser
        browser.close()
        # Close the connections the test opened while the loop was active (they belong to
        # that context and would otherwise stay open past the end of the test run).
        from django.db import connections

        connections.close_all()


@pytest.fixture
def png_file(tmp_path):
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 30, 30)).save(buffer, "PNG")
    path = tmp_path / "foto-colacion.png"
    path.write_bytes(buffer.getvalue())
    return path
