"""A real ``conjure up`` subprocess and a headless Chromium (Debian's) for the browser tests.

A pytest plugin (``pytest_plugins`` in tests/conftest.py): any folder's page tests ask for
``page``, ``server`` or ``browser`` by name."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, ViewportSize, sync_playwright

from tests.artifacts import SCREENSHOTS
from tests.payments.stripe_server import API_KEY as STRIPE_API_KEY
from tests.payments.stripe_server import FakeStripe
from tests.processes import stop_process
from tests.servers import free_port

ROOT = Path(__file__).resolve().parents[2]
ADMIN_EMAIL = "admin@example.com"
BOT_TOKEN = "123456:test-bot-token"
STRIPE_PUBLISHABLE_KEY = "pk_test_web"
STRIPE_WEBHOOK_SECRET = "whsec_web"  # the billing page test delivers Stripe's events to the server
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def stripe() -> Iterator[FakeStripe]:
    """Stripe's PaymentIntents API on loopback (the payments tests' fake), for the real SDK in the server."""
    fake = FakeStripe()
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture(scope="session")
def server_var(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The ``server``'s var dir (its SQLite database is ``conjure.db`` there)."""
    return tmp_path_factory.mktemp("web-var")


@pytest.fixture(scope="session")
def server(server_var: Path, stripe: FakeStripe) -> Iterator[str]:
    """``conjure up`` on a free port with its own var dir: the embedded default, as a newcomer runs it.

    One per session: both pages' tests talk to the same server, as both apps share one in production.
    """
    var = server_var
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "REDIS_", "STRIPE_", "AI_"))}
    env.update(
        VAR_DIR=str(var),
        ADMIN_EMAILS=ADMIN_EMAIL,
        SIGNUP_BONUS_STARS="3",
        TELEGRAM_BOT_TOKEN=BOT_TOKEN,
        PUBLIC_BASE_URL=f"http://127.0.0.1:{port}",
        RATE_LIMIT_ANONYMOUS="1000/minute",
        RATE_LIMIT_LOGIN="1000/minute",
        RATE_LIMIT_SIGNUP="1000/hour",  # every page test signs up from 127.0.0.1 (20/hour by default)
        RATE_LIMIT_GENERATION="1000/minute",
        INVITE_BURST_THRESHOLD="1",  # a second invitee of one inviter is a burst (the admin page)
        IMAGE_PROVIDER="offline",
        STRIPE_API_KEY=STRIPE_API_KEY,
        STRIPE_API_BASE=stripe.url,
        STRIPE_PUBLISHABLE_KEY=STRIPE_PUBLISHABLE_KEY,
        STRIPE_WEBHOOK_SECRET=STRIPE_WEBHOOK_SECRET,
    )
    with conjure_up(var, env, port) as base:
        yield base


@contextmanager
def conjure_up(var: Path, env: dict[str, str], port: int) -> Iterator[str]:
    """``conjure up`` on ``port`` with ``env``, its log in ``var``; its base URL once healthy."""
    log = (var / "server.log").open("wb")  # a file, not a pipe nobody reads
    proc = subprocess.Popen(
        [sys.executable, "-m", "conjure.cli", "up", "--port", str(port)],
        cwd=var,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90  # start-up is slow when the machine is busy
    try:
        while True:
            if proc.poll() is not None:
                pytest.fail(f"conjure up exited: {(var / 'server.log').read_text()[-2000:]}")
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("conjure up did not become healthy in 90 s")
            time.sleep(0.3)
        yield base
    finally:
        stop_process(proc, timeout=15)
        log.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Module-scoped: Playwright's sync API holds an event loop, which async tests must not see."""
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    """The screenshot folder (emptied at the run's start: ``pytest_sessionstart`` in tests/conftest.py)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


@pytest.fixture
def page(browser: Browser, server: str, screenshots: Path) -> Iterator[Page]:
    """A phone-sized page with no network beyond the server; console errors fail the test."""
    context = browser.new_context(
        base_url=server, viewport={"width": 390, "height": 844}, locale="en-US", color_scheme="dark"
    )
    context.set_default_timeout(15_000)
    # No internet here: third-party scripts (telegram.org, js.stripe.com) fail fast instead of hanging.
    context.route("https://**/*", lambda route: route.abort())
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
    page.on(
        "console",
        lambda msg: (
            errors.append(f"console: {msg.text}")
            if msg.type == "error" and "Failed to load resource" not in msg.text
            else None
        ),
    )
    yield page
    context.close()
    assert not errors, errors


PHONE: ViewportSize = {"width": 390, "height": 844}
DESKTOP: ViewportSize = {"width": 1280, "height": 800}


def shot(page: Page, name: str) -> None:
    """Keep full-page screenshots of a page state at phone and desktop widths in test-artifacts/screenshots/.

    Scrolled to the top first (a sticky header would otherwise be drawn mid-page); the viewport is put
    back afterwards so the test goes on at the size it was using.
    """
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    before = page.viewport_size or PHONE
    scroll = page.evaluate("window.scrollY")
    page.evaluate("window.scrollTo({ top: 0, behavior: 'instant' })")  # also stops a smooth scroll
    for label, size in (("phone", PHONE), ("desktop", DESKTOP)):
        page.set_viewport_size(size)
        page.wait_for_timeout(50)  # one layout pass at the new width
        page.screenshot(path=str(SCREENSHOTS / f"{name}-{label}.png"), full_page=True, animations="disabled")
    page.set_viewport_size(before)
    page.evaluate(f"window.scrollTo({{ top: {scroll}, behavior: 'instant' }})")
