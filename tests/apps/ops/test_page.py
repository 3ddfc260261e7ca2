"""The ``/ops`` console in headless Chromium against ``conjure up``: a staff member works the inbox
(edits and approves one AI draft, rejects another), sees bookings, the leads board and reviews,
and cannot see another station; an owner sees the budget and the audit trail."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import re
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from playwright.sync_api import Browser, Page, Route, expect

from conjure.apps.ops.crypto import cipher_for
from conjure.apps.ops.inbox import store_inbound, triage
from conjure.apps.ops.models import Draft, InboxMessage
from conjure.channels.types import InboundMessage
from conjure.db import Database, utcnow
from conjure.ratelimit.service import make_limiter
from conjure.settings import Settings
from tests.processes import stop_process
from tests.servers import free_port
from tests.web.browser import shot

PASSWORD = "correct horse battery"
SMS = "+15550001000"
# The month the console's clock shows: far enough ahead that every booking the tests make there,
# and the long history before it, is still to come (a booking that has started is refused).
MONTH = (dt.date.today().replace(day=1) + dt.timedelta(days=400)).replace(day=1)


def _signup(client: httpx.Client, email: str) -> dict[str, str]:
    response = client.post("/api/v1/auth/signup", json={"email": email, "password": PASSWORD})
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def _ok(response: httpx.Response) -> Any:
    assert response.status_code < 300, response.text
    return response.json() if response.content else None


async def _inbound(var: Path, texts: list[str], tag: str = "seed") -> None:
    """Messages arriving on the station's SMS number, stored and triaged as the channels job would."""
    settings = Settings(_env_file=None, var_dir=var, environment="development")
    db = Database(settings.resolved_database_url)
    limiter = make_limiter(settings, None)
    try:
        for n, text in enumerate(texts):
            msg = InboundMessage("sms", "message", f"{tag}-{n}", f"+1415555{n:04d}", SMS, text, utcnow())
            async with db.session() as session:
                stored = await store_inbound(session, cipher_for(settings), msg)
            assert stored is not None
            await triage(db, settings, limiter, stored.id)
    finally:
        await db.dispose()


def _in_thread(work: Any) -> None:
    """Run a coroutine to its end on a loop of its own (Playwright's sync API holds this thread's)."""
    worker = threading.Thread(target=lambda: asyncio.run(work))
    worker.start()
    worker.join(60)


async def _damage_draft(var: Path, draft_id: str) -> None:
    """Give a draft the sealed text of the message it answers: bound to another kind of text and
    another row, it does not open there (as a ciphertext moved by a bad restore would not)."""
    db = Database(Settings(_env_file=None, var_dir=var).resolved_database_url)
    try:
        async with db.session() as session:
            draft = sa.select(Draft).where(Draft.id == uuid.UUID(draft_id)).subquery()
            sealed = sa.select(InboxMessage.text_enc).where(InboxMessage.id == draft.c.message_id)
            damaged = sa.update(Draft).where(Draft.id == uuid.UUID(draft_id))
            await session.execute(damaged.values(text_enc=sealed.scalar_subquery()))
            await session.commit()
    finally:
        await db.dispose()


def _seed(base: str, var: Path) -> dict[str, str]:
    with httpx.Client(base_url=base, timeout=10) as client:
        admin = _signup(client, "admin@example.com")
        owner_a, owner_b = _signup(client, "owner-a@example.com"), _signup(client, "owner-b@example.com")
        _signup(client, "staff@example.com")
        stations = {}
        for slug, name, owner in (
            ("bay-area", "Bay Area", "owner-a"),
            ("sacramento", "Sacramento", "owner-b"),
        ):
            body = {"name": name, "slug": slug, "owner_email": f"{owner}@example.com"}
            stations[slug] = _ok(client.post("/api/v1/ops/stations", json=body, headers=admin))["id"]
        a, b = (f"/api/v1/ops/stations/{stations[s]}" for s in ("bay-area", "sacramento"))
        _ok(
            client.post(f"{a}/members", json={"email": "staff@example.com", "role": "staff"}, headers=owner_a)
        )
        _ok(client.post(f"{a}/channels", json={"channel": "sms", "address": SMS}, headers=owner_a))
        month = f"{MONTH:%Y-%m}"
        for day, hour, guests in (("08", "18:00", 12), ("15", "17:30", 20), ("22", "19:00", 8)):
            customer = _ok(client.post(f"{a}/customers", json={"name": f"Guest {day}"}, headers=owner_a))
            booking: dict[str, Any] = {
                "customer_id": customer["id"],
                "event_date": f"{month}-{day}",
                "event_time": hour,
                "guests": guests,
                "address": "100 Main St",
                "package": "deluxe",
            }
            _ok(client.post(f"{a}/bookings", json=booking, headers=owner_a))
        for name, message in (("Jo", "Wedding party for 80 guests on Jun 14"), ("Kim", "Do you cook vegan?")):
            body = {"name": name, "email": f"{name.lower()}@example.com", "message": message}
            _ok(client.post("/api/v1/ops/public/bay-area/leads", json=body))
        for rating, text in ((5, "Amazing show, the kids loved it!"), (2, "Chef arrived late.")):
            review: dict[str, Any] = {
                "platform": "google",
                "rating": rating,
                "text": text,
                "reviewer_name": "Pat",
            }
            _ok(client.post(f"{a}/reviews", json=review, headers=owner_a))
        secret = _ok(
            client.post(f"{b}/customers", json={"name": "Secret Sacramento Customer"}, headers=owner_b)
        )
        assert secret["name"].startswith("Secret")
    texts = ["How much does a party cost?", "I want to book a party for 30 people on Saturday",
             "My son has a severe peanut allergy"]  # fmt: skip
    _in_thread(_inbound(var, texts))
    return stations


@pytest.fixture(scope="module")
def ops_var(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The server's var folder (its SQLite database): a test reaches rows the API does not change."""
    return tmp_path_factory.mktemp("ops-var")


@pytest.fixture(scope="module")
def ops_server(ops_var: Path) -> Iterator[tuple[str, dict[str, str]]]:
    """``conjure up`` on the embedded default with two stations seeded; (base URL, station ids)."""
    var = ops_var
    port = free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DATABASE_", "REDIS_", "STRIPE_", "AI_", "OPS_"))
    }
    env.update(
        VAR_DIR=str(var),
        ADMIN_EMAILS="admin@example.com",
        PUBLIC_BASE_URL=f"http://127.0.0.1:{port}",
        RATE_LIMIT_ANONYMOUS="1000/minute",
        RATE_LIMIT_LOGIN="1000/minute",
        RATE_LIMIT_SIGNUP="1000/minute",
        RATE_LIMIT_DEFAULT="1000/minute",  # the long-history test books a year of parties
        OPS_TIMEZONE="America/Los_Angeles",
    )
    log = (var / "server.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "conjure.cli", "up", "--port", str(port)], cwd=var, env=env, stdout=log,
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None:
                pytest.fail(f"conjure up exited: {(var / 'server.log').read_text()[-2000:]}")
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "conjure up did not become healthy in 90 s"
            time.sleep(0.3)
        yield base, _seed(base, var)
    finally:
        stop_process(proc, timeout=15)
        log.close()


@pytest.fixture
def console(browser: Browser, ops_server: tuple[str, dict[str, str]]) -> Iterator[Page]:
    context = browser.new_context(
        base_url=ops_server[0], viewport={"width": 390, "height": 844}, locale="en-US"
    )
    context.set_default_timeout(15_000)
    context.route("https://**/*", lambda route: route.abort())
    page = context.new_page()
    page.clock.set_fixed_time(dt.datetime.combine(MONTH.replace(day=14), dt.time(12)))
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))

    def on_console(message: Any) -> None:
        if message.type == "error" and "Failed to load resource" not in message.text:
            errors.append(message.text)

    page.on("console", on_console)
    yield page
    context.close()
    assert not errors, errors


def _login(page: Page, email: str) -> None:
    response = page.goto("/ops")
    assert response is not None
    assert "'unsafe-inline'" not in response.headers["content-security-policy"]
    page.fill("#auth-email", email)
    page.fill("#auth-password", PASSWORD)
    page.click("#login")
    expect(page.locator("#app")).to_be_visible()


def test_staff_work_the_inbox_cannot_see_another_station_and_the_owner_sees_the_audit(
    console: Page,
    ops_server: tuple[str, dict[str, str]],
    screenshots: Path,
) -> None:
    _, stations = ops_server
    _login(console, "staff@example.com")
    expect(console.locator("#role")).to_have_text("staff")
    expect(console.locator("#station option")).to_have_count(1)  # only the station they belong to
    drafts = console.locator("#drafts .draft")
    expect(drafts).to_have_count(2)  # Level 2; the allergy message went to a person (Level 3)
    expect(console.locator("#unread")).to_have_text("3")
    expect(console.locator(".thread", has_text="peanut allergy").locator(".level-3")).to_have_text(
        "Needs a person"
    )
    shot(console, "ops-01-inbox-drafts")

    first = drafts.nth(0)
    first.locator("textarea").fill("Hi! Saturday is open for 30 guests; shall I hold it?")
    first.locator(".approve").click()
    expect(drafts).to_have_count(1)
    drafts.nth(0).locator(".reject").click()
    expect(console.locator("#drafts")).to_contain_text("Nothing waiting for approval.")

    console.click("[data-tab=bookings]")
    expect(console.locator("#bookings tr")).to_have_count(3)
    expect(console.locator("#calendar .pill")).to_have_count(3)
    shot(console, "ops-02-bookings-calendar")
    console.click("[data-tab=leads]")
    expect(console.locator(".column[data-status=new] .lead")).to_have_count(2)
    shot(console, "ops-03-leads-board")
    console.click("[data-tab=reviews]")
    low = console.locator(".review", has_text="Chef arrived late.")
    low.locator(".draft-reply").click()
    expect(low.locator("textarea")).to_have_value(
        re.compile(r"^We're sorry, Pat, .* Bay Area manager will reach out")
    )
    expect(low.locator(".publish")).to_have_count(0)  # publishing is for managers
    shot(console, "ops-04-reviews")
    console.click("[data-tab=budget]")
    expect(console.locator("#usage")).to_contain_text("Managers and owners see the AI budget")

    console.goto(f"/ops#station={stations['sacramento']}")
    console.reload()
    expect(console.locator("#notice")).to_have_text(
        "That station was not found, or you are not one of its members."
    )
    expect(console.locator("#app")).to_be_hidden()
    assert "Secret" not in console.content()
    expect(console.locator("#go-home")).to_be_visible()
    shot(console, "ops-05-other-station-refused")
    console.click("#go-home")
    expect(console.locator("#role")).to_have_text("staff")

    # The owner of the same station then sees the budget and, in the audit trail, what staff did.
    console.click("#logout")
    _login(console, "owner-a@example.com")
    console.click("[data-tab=budget]")
    expect(console.locator("#usage")).to_contain_text("AI calls")
    expect(console.locator("#audit tr", has_text="draft.edited")).to_have_count(1)
    expect(console.locator("#audit tr", has_text="draft.rejected")).to_have_count(1)
    expect(console.locator("#audit tr", has_text="classify")).to_have_count(3)
    shot(console, "ops-06-budget-audit")


def test_staff_answer_a_conversation_and_book_a_new_customer(
    console: Page,
    screenshots: Path,
) -> None:
    _login(console, "staff@example.com")
    allergy = console.locator(".thread", has_text="peanut allergy")
    allergy.locator(".open-thread").click()
    expect(console.locator("#messages li.in")).to_have_text(re.compile("severe peanut allergy"))
    console.fill("#reply-text", "Thank you for telling us. Our chef will cook peanut-free for your party.")
    with console.expect_request(lambda r: r.url.endswith("/reply") and r.method == "POST") as sending:
        console.click("#send-reply")
    assert sending.value.headers.get("idempotency-key")  # a retry of this reply is sent once
    expect(console.locator("#messages li.out")).to_contain_text("peanut-free for your party")
    expect(console.locator("#reply-text")).to_have_value("")
    shot(console, "ops-07-conversation-reply")

    console.click("[data-tab=bookings]")
    expect(console.locator("#bookings tr")).to_have_count(3)
    console.click("#new-booking summary")
    console.select_option("#nb-customer", "new")
    expect(console.locator("#nb-new-customer")).to_be_visible()
    console.click("#create-booking")  # nothing chosen yet: the form says what is missing
    console.fill("#nb-name", "Dana Lee")
    console.fill("#nb-phone", "+14155550123")
    # A date already gone (by the server's clock): refused, and the form says so beside its button.
    console.fill("#nb-date", (dt.date.today() - dt.timedelta(days=2)).isoformat())
    console.fill("#nb-time", "18:30")
    console.fill("#nb-guests", "14")
    console.fill("#nb-address", "9 Ocean Ave")
    console.select_option("#nb-package", "premium")
    console.click("#create-booking")
    refused = console.locator("#nb-error")
    expect(refused).to_have_text("That date and time have already passed; choose a later one.")
    expect(refused).to_be_in_viewport()
    expect(console.locator("#bookings tr")).to_have_count(3)
    shot(console, "ops-08-new-booking-in-the-past")
    console.fill("#nb-date", f"{MONTH:%Y-%m}-27")
    shot(console, "ops-08-new-booking-form")
    console.click("#create-booking")
    expect(console.locator("#bookings tr")).to_have_count(4)
    expect(console.locator("#nb-error")).to_be_hidden()
    row = console.locator("#bookings tr", has_text="18:30")
    expect(row.locator(".badge")).to_have_text("pending")
    row.locator("[data-status=confirmed]").click()
    expect(row.locator(".badge")).to_have_text("confirmed")
    expect(console.locator("#calendar .pill", has_text="18:30 · 14")).to_have_count(1)
    expect(console.locator("#nb-customer option", has_text="Dana Lee")).to_have_count(1)
    shot(console, "ops-09-booking-confirmed")


def _hold_first(tab: Page, url: re.Pattern[str]) -> list[Route]:
    """The first request to ``url`` is held (the test answers it); later ones go on."""
    held: list[Route] = []

    def hold_first(route: Route) -> None:
        if held:
            route.continue_()
        else:
            held.append(route)

    tab.route(url, hold_first)
    return held


def test_a_conversation_opened_while_another_is_read_is_the_one_shown(console: Page) -> None:
    """Staff open one conversation, then quickly another: the first one's messages, answering
    late, are not drawn over the second (whose reply box the next reply goes to)."""
    _login(console, "staff@example.com")
    threads = console.locator("#threads .thread")
    expect(threads).to_have_count(3)
    reads = re.compile(r".*/inbox/[^/?]+$")
    held = _hold_first(console, reads)
    threads.nth(0).locator(".open-thread").click()
    threads.nth(1).locator(".open-thread").click()
    expect(console.locator("#thread")).to_be_visible()
    second = console.locator("#messages").text_content() or ""
    assert held, "the first conversation was not read"
    with console.expect_response(reads) as first:
        held[0].continue_()
    console.unroute(reads)
    assert first.value.json()["messages"][0]["text"] not in second  # two conversations
    console.wait_for_timeout(300)  # the late answer would be drawn now
    expect(console.locator("#messages")).to_have_text(second)


def test_a_station_switched_to_while_the_last_one_is_read_shows_its_own_inbox(
    console: Page, ops_server: tuple[str, dict[str, str]]
) -> None:
    """A member of two stations reads one's inbox again, then picks the other: the first one's
    conversations, answering late, are not drawn in the second's console."""
    base, stations = ops_server
    bay, sacramento = stations["bay-area"], stations["sacramento"]
    with httpx.Client(base_url=base, timeout=10) as client:
        _signup(client, "switcher@example.com")
        for station, owner in ((bay, "owner-a"), (sacramento, "owner-b")):
            body = {"email": f"{owner}@example.com", "password": PASSWORD}
            token = _ok(client.post("/api/v1/auth/login", json=body))["access_token"]
            member = {"email": "switcher@example.com", "role": "staff"}
            headers = {"Authorization": f"Bearer {token}"}
            _ok(client.post(f"/api/v1/ops/stations/{station}/members", json=member, headers=headers))
    _login(console, "switcher@example.com")
    expect(console.locator("#station option")).to_have_count(2)
    console.select_option("#station", bay)
    expect(console.locator("#threads .thread").first).to_be_visible()
    reads = re.compile(rf".*/stations/{bay}/inbox\?.*$")
    held = _hold_first(console, reads)
    console.click("[data-tab=inbox]")  # the inbox read again: held
    for _ in range(50):
        if held:
            break
        console.wait_for_timeout(100)  # route handlers run while the test waits
    assert held, "the inbox was not read again"
    console.select_option("#station", sacramento)
    expect(console.locator("#threads")).to_have_text("No conversations yet.")
    with console.expect_response(reads):
        held[0].continue_()  # the first station's conversations answer last
    console.unroute(reads)
    console.wait_for_timeout(300)  # the late answer would be drawn now
    expect(console.locator("#threads")).to_have_text("No conversations yet.")


def test_a_double_click_on_approve_sends_the_reply_once(
    console: Page, ops_server: tuple[str, dict[str, str]], ops_var: Path
) -> None:
    """Approve & send on a draft, clicked twice before the first answers: one request (the
    customer gets one reply), not a second one refused as already approved after the first went."""
    asked = "How much does a party for 40 guests cost?"
    _in_thread(_inbound(ops_var, [asked], tag="double-click"))
    _login(console, "staff@example.com")
    item = console.locator(".draft", has_text=asked)
    expect(item.locator("textarea")).not_to_have_value("")
    approve = re.compile(r".*/drafts/[^/]+/approve$")
    held: list[Route] = []
    console.route(approve, lambda route: held.append(route))
    item.locator(".approve").dblclick()
    console.wait_for_timeout(300)  # a second request would be on its way now
    assert len(held) == 1, f"{len(held)} approve requests"
    with console.expect_response(approve) as sent:
        held[0].continue_()
    console.unroute(approve)
    assert sent.value.status == 200
    expect(item).to_have_count(0)
    expect(console.locator("#notice")).to_be_hidden()


def test_a_station_with_a_long_history_still_sees_this_months_bookings(
    console: Page,
    ops_server: tuple[str, dict[str, str]],
) -> None:
    # More than a page of earlier events (a year of parties): the calendar and the list still show
    # the month on screen, not the oldest hundred bookings.
    base, stations = ops_server
    sac = f"/api/v1/ops/stations/{stations['sacramento']}"
    today = MONTH.replace(day=14)  # the console's clock
    with httpx.Client(base_url=base, timeout=10) as client:
        owner = {"Authorization": "Bearer " + _ok(client.post(
            "/api/v1/auth/login", json={"email": "owner-b@example.com", "password": PASSWORD}
        ))["access_token"]}  # fmt: skip
        guest = _ok(client.post(f"{sac}/customers", json={"name": "Regular Guest"}, headers=owner))
        for back in range(101, 0, -1):
            day = today.replace(day=1) - dt.timedelta(days=back)
            booking = {"customer_id": guest["id"], "event_date": day.isoformat(), "event_time": "12:00",
                       "guests": 10, "address": "1 Old Rd", "package": "standard"}  # fmt: skip
            _ok(client.post(f"{sac}/bookings", json=booking, headers=owner))
        booking = {**booking, "event_date": today.replace(day=20).isoformat(), "event_time": "19:15"}
        _ok(client.post(f"{sac}/bookings", json=booking, headers=owner))
    _login(console, "owner-b@example.com")
    console.click("[data-tab=bookings]")
    expect(console.locator("#calendar .pill", has_text="19:15")).to_have_count(1)
    expect(console.locator("#bookings tr", has_text="19:15")).to_have_count(1)
    # The month before shows its own bookings (the last days of the history).
    console.click("#prev-month")
    expect(console.locator("#calendar .pill", has_text="12:00").first).to_be_visible()
    expect(console.locator("#calendar .pill", has_text="19:15")).to_have_count(0)


def test_the_new_booking_form_finds_a_customer_beyond_the_newest_hundred(
    console: Page,
    ops_server: tuple[str, dict[str, str]],
    screenshots: Path,
) -> None:
    # A station with more customers than the form lists: the oldest is found by a search.
    base, stations = ops_server
    sac = f"/api/v1/ops/stations/{stations['sacramento']}"
    with httpx.Client(base_url=base, timeout=10) as client:
        owner = {"Authorization": "Bearer " + _ok(client.post(
            "/api/v1/auth/login", json={"email": "owner-b@example.com", "password": PASSWORD}
        ))["access_token"]}  # fmt: skip
        _ok(
            client.post(
                f"{sac}/customers", json={"name": "Zelda Fitzgerald", "phone": "+14155550199"}, headers=owner
            )
        )
        for n in range(100):
            _ok(client.post(f"{sac}/customers", json={"name": f"Walk-in {n:03}"}, headers=owner))
    _login(console, "owner-b@example.com")
    console.click("[data-tab=bookings]")
    console.click("#new-booking summary")
    expect(console.locator("#nb-customer option", has_text="Walk-in 099")).to_have_count(1)
    expect(console.locator("#nb-customer option", has_text="Zelda")).to_have_count(0)  # the 101st newest
    expect(console.locator("#nb-found")).to_contain_text("Showing 100 of")
    console.fill("#nb-search", "zelda")
    expect(console.locator("#nb-customer option", has_text="Zelda Fitzgerald")).to_have_count(1)
    expect(console.locator("#nb-customer option", has_text="Walk-in")).to_have_count(0)
    expect(console.locator("#nb-found")).to_be_hidden()
    console.select_option("#nb-customer", label="Zelda Fitzgerald")
    shot(console, "ops-10-customer-search")
    console.fill("#nb-search", "+14155550199")  # a whole phone number finds her too
    expect(console.locator("#nb-customer")).to_have_value(re.compile(r"^[0-9a-f-]{36}$"))  # still chosen
    console.fill("#nb-search", "nobody by this name")
    expect(console.locator("#nb-found")).to_have_text("No customer matches “nobody by this name”.")
    expect(console.locator("#nb-customer")).to_have_value("")


def test_the_leads_board_pages_each_column_with_show_more(
    console: Page,
    ops_server: tuple[str, dict[str, str]],
    screenshots: Path,
) -> None:
    # More leads than a column shows at once: its heading counts them all, "Show more" brings the
    # next page (the oldest lead included), and a change keeps what was opened.
    base, stations = ops_server
    sac = f"/api/v1/ops/stations/{stations['sacramento']}"
    with httpx.Client(base_url=base, timeout=10) as client:
        owner = {"Authorization": "Bearer " + _ok(client.post(
            "/api/v1/auth/login", json={"email": "owner-b@example.com", "password": PASSWORD}
        ))["access_token"]}  # fmt: skip
        for n in range(45):
            body = {"name": f"Caller {n:02}", "message": f"Party for {10 + n} guests?"}
            _ok(client.post(f"{sac}/leads", json=body, headers=owner))
    _login(console, "owner-b@example.com")
    console.click("[data-tab=leads]")
    column = console.locator(".column[data-status=new]")
    expect(column.locator("h3")).to_have_text("new (45)")
    expect(column.locator(".lead")).to_have_count(20)
    expect(column.locator(".lead").first).to_contain_text("Caller 44")  # newest first
    expect(column.locator(".lead", has_text="Caller 00")).to_have_count(0)
    expect(console.locator(".column[data-status=won] .more")).to_have_count(0)
    shot(console, "ops-11-leads-board-first-page")
    column.locator(".more").click()
    expect(column.locator(".lead")).to_have_count(40)
    column.locator(".more").click()
    expect(column.locator(".lead")).to_have_count(45)
    expect(column.locator(".lead", has_text="Caller 00")).to_have_count(1)
    expect(column.locator(".more")).to_have_count(0)
    shot(console, "ops-12-leads-board-all-shown")
    column.locator(".lead", has_text="Caller 00").get_by_role("button", name="→ contacted").click()
    expect(console.locator(".column[data-status=contacted] .lead")).to_have_text(re.compile("Caller 00"))
    expect(column.locator("h3")).to_have_text("new (44)")
    expect(column.locator(".lead")).to_have_count(44)  # still opened after the board is drawn again


def test_a_draft_that_cannot_be_read_says_so_and_takes_a_reply_written_by_hand(
    console: Page,
    ops_server: tuple[str, dict[str, str]],
    ops_var: Path,
    screenshots: Path,
) -> None:
    # Its sealed text does not open: the API lists it with text null; approving it as is is a 409.
    base, stations = ops_server
    asked = {"cost": "How much does a party for 15 guests cost?",
             "book": "I want to book a party for 20 people on Sunday"}  # fmt: skip
    _in_thread(_inbound(ops_var, list(asked.values()), tag="unreadable"))
    with httpx.Client(base_url=base, timeout=10) as client:
        owner = {"Authorization": "Bearer " + _ok(client.post(
            "/api/v1/auth/login", json={"email": "owner-a@example.com", "password": PASSWORD}
        ))["access_token"]}  # fmt: skip
        url = f"/api/v1/ops/stations/{stations['bay-area']}/drafts?limit=100"
        ids = {d["message_text"]: d["id"] for d in _ok(client.get(url, headers=owner))["items"]}
    cost, book = ids[asked["cost"]], ids[asked["book"]]
    _in_thread(_damage_draft(ops_var, cost))
    _login(console, "staff@example.com")
    item = console.locator(f".draft[data-id='{cost}']")
    expect(item.locator(".unreadable-draft")).to_have_text(re.compile("^This AI draft cannot be read"))
    expect(item.locator("textarea")).to_have_value("")
    expect(item.locator("textarea")).to_have_attribute("placeholder", "Write your reply to the customer…")
    expect(item.locator(".approve")).to_have_text("Send my reply")
    item.locator(".approve").click()  # nothing written yet: said beside the box, nothing sent
    expect(item.locator("[role=alert]")).to_have_text("Write your reply first.")
    shot(console, "ops-13-draft-cannot-be-read")
    item.locator("textarea").fill("A party for 15 is $900 with the deluxe menu.")
    with console.expect_response(lambda r: r.url.endswith(f"/drafts/{cost}/approve")) as sent:
        item.locator(".approve").click()
    assert (sent.value.status, sent.value.request.post_data_json) == (
        200, {"text": "A party for 15 is $900 with the deluxe menu."}
    )  # fmt: skip
    expect(item).to_have_count(0)

    # Readable when the page drew it, damaged since: approving says nothing was sent, and the item
    # is drawn again as one that cannot be read.
    other = console.locator(f".draft[data-id='{book}']")
    expect(other.locator("textarea")).not_to_have_value("")
    _in_thread(_damage_draft(ops_var, book))
    other.locator(".approve").click()
    refused = re.compile(r"^Nothing was sent\. This AI draft cannot be read")
    expect(console.locator("#notice")).to_have_text(refused)
    expect(other.locator(".unreadable-draft")).to_be_visible()
    expect(other.locator(".approve")).to_have_text("Send my reply")
    shot(console, "ops-14-draft-unreadable-since-drawn")
    other.locator(".reject").click()
    expect(other).to_have_count(0)
