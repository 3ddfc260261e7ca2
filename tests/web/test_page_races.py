"""The tarot and PixelPop pages and the operator console while things happen meanwhile: a past
reading opened while another is read, a wallet read answering after a newer one, a picture done
while another is viewed, a job search answering after a newer one, a list drawn again while a
keyboard user is on it. A test about an order holds one request (the test answers it) to make it."""

from __future__ import annotations

import re
import time
from pathlib import Path

import httpx
from playwright.sync_api import Page, Route, expect
from sqlalchemy import create_engine, update
from sqlalchemy.orm import Session

from conjure.users.models import User
from tests.web.test_pages import PASSWORD, _email, _token, ask, sign_up


def _hold_first(page: Page, url: re.Pattern[str]) -> list[Route]:
    """The first GET to ``url`` is held (the test answers it); the others go on."""
    held: list[Route] = []

    def hold(route: Route) -> None:
        if held or route.request.method != "GET":
            route.continue_()
        else:
            held.append(route)

    page.route(url, hold)
    return held


def _wait_held(page: Page, held: list[Route]) -> None:
    for _ in range(100):
        if held:
            return
        page.wait_for_timeout(100)  # route handlers run while the test waits
    raise AssertionError("no request was held")


def _log_in(page: Page, email: str) -> None:
    page.goto("/")
    page.click("#tab-login")
    page.fill("#auth-email", email)
    page.fill("#auth-password", PASSWORD)
    page.click("#auth-submit")
    expect(page.locator("#app")).to_be_visible()


def test_a_past_reading_opened_while_another_is_read_stays_the_one_shown(page: Page, server: str) -> None:
    """The person opens one past reading, then quickly another: the first one's answer, coming
    late, does not become the reading on screen (a language switch draws the one they chose)."""
    email = _email("history-browser")
    user = _token(server, email)
    questions = ["Will my garden grow this spring?", "Should I learn the violin this year?"]
    for question in questions:
        sent = httpx.post(f"{server}/api/v1/tarot/read", json={"question": question}, headers=user)
        assert sent.status_code == 202, sent.text
    deadline = time.monotonic() + 60
    while httpx.get(f"{server}/api/v1/readings?limit=1", headers=user).json()["total"] < 2:
        assert time.monotonic() < deadline, "the readings did not finish in 60 s"
        time.sleep(0.3)
    _log_in(page, email)
    items = page.locator("#history .history-item")
    expect(items).to_have_count(2)
    garden, violin = (items.filter(has_text=q[:20]) for q in questions)
    reading = re.compile(r".*/api/v1/reading/[^/?]+$")
    held = _hold_first(page, reading)
    garden.click()
    _wait_held(page, held)
    violin.click()
    expect(page.locator("#reading-question")).to_have_text(f"“{questions[1]}”")
    expect(page.locator("#reading-text")).to_be_visible()
    with page.expect_response(reading):
        held[0].continue_()  # the garden reading answers last
    page.unroute(reading)
    page.wait_for_timeout(300)
    page.click("#lang-toggle")  # the reading on screen is drawn again in Thai
    expect(page.locator("html")).to_have_attribute("lang", "th")
    expect(page.locator("#reading-question")).to_have_text(f"“{questions[1]}”")


def _answer_first_later(page: Page, url: re.Pattern[str]) -> tuple[list[Route], list[object]]:
    """The first GET to ``url`` is answered now by the server but given to the page only when the
    test fulfils it (a slow answer); the others go on."""
    taken: list[Route] = []
    answers: list[object] = []

    def hold(route: Route) -> None:
        if taken or route.request.method != "GET":
            route.continue_()
            return
        taken.append(route)  # before fetching: the handlers of the next reads run meanwhile
        answers.append(route.fetch().json())

    page.route(url, hold)
    return taken, answers


def test_a_slow_wallet_read_does_not_undo_the_newer_one(page: Page) -> None:
    """A reading holds a star while it runs (the page reads the wallet to show it) and releases it
    when it ends (read again). The first read, answering after the second, does not show the
    star as still held."""
    sign_up(page, _email("slow-wallet"))
    wallet = re.compile(r".*/api/v1/user/wallet$")
    taken, answers = _answer_first_later(page, wallet)
    ask(page, "What should I focus on in my garden this spring?")
    expect(page.locator("#steps li[data-step=done]")).to_have_class("done", timeout=30_000)
    expect(page.locator("#history .history-item")).to_have_count(1)
    expect(page.locator("#held")).to_have_text("0")
    expect(page.locator("#stars")).to_have_text("2")
    assert answers, "the page did not read the wallet when the reading started"
    now = answers[0]
    assert isinstance(now, dict)
    # The offline reader ends in milliseconds: the answer as it was while the reading ran.
    running = {**now, "star_balance": now["star_balance"] + 1, "stars_held": 1}
    with page.expect_response(wallet):
        taken[0].fulfill(json=running)
    page.unroute(wallet)
    page.wait_for_timeout(300)  # the late answer would be drawn now
    expect(page.locator("#held")).to_have_text("0")
    expect(page.locator("#stars")).to_have_text("2")


def test_pixelpop_a_slow_wallet_read_does_not_undo_the_newer_one(page: Page) -> None:
    """PixelPop reads the credits when a picture is asked for (a star held) and when it is done
    (released): the first read, answering after the second, does not show the star as held."""
    page.goto("/pixelpop")
    page.fill("#auth-email", _email("pixel-slow-wallet"))
    page.fill("#auth-password", PASSWORD)
    page.click("#auth-submit")
    expect(page.locator("#credits")).to_have_text("3")
    wallet = re.compile(r".*/api/v1/user/wallet$")
    taken, answers = _answer_first_later(page, wallet)
    page.fill("#prompt", "A lighthouse on a cliff at dusk")
    page.click("#generate")
    expect(page.locator("#image")).to_be_visible(timeout=20_000)
    expect(page.locator("#gallery .thumb")).to_have_count(1)
    expect(page.locator("#credits")).to_have_text("2")
    expect(page.locator("#credits-held")).to_be_hidden()
    assert answers, "the page did not read the credits when the picture was asked for"
    now = answers[0]
    assert isinstance(now, dict)
    # The offline provider ends at once: the answer as it was while the picture was made.
    running = {**now, "star_balance": now["star_balance"] + 1, "stars_held": 1}
    with page.expect_response(wallet):
        taken[0].fulfill(json=running)
    page.unroute(wallet)
    page.wait_for_timeout(300)  # the late answer would be drawn now
    expect(page.locator("#credits-held")).to_be_hidden()
    expect(page.locator("#credits")).to_have_text("2")


def test_pixelpop_a_picture_finished_while_another_is_viewed_leaves_the_view(page: Page) -> None:
    """While a picture is being made the person opens an older one from the gallery: the new one,
    once done, goes to the gallery, not over the picture they are looking at."""
    page.goto("/pixelpop")
    page.fill("#auth-email", _email("pixel-browser"))
    page.fill("#auth-password", PASSWORD)
    page.click("#auth-submit")
    first, second = "A lighthouse on a cliff at dusk", "A red fox curled up in fresh snow"
    page.fill("#prompt", first)
    page.click("#generate")
    expect(page.locator("#image")).to_be_visible(timeout=20_000)
    expect(page.locator("#gallery .thumb")).to_have_count(1)
    poll = re.compile(r".*/api/generation/[0-9a-f-]{36}$")
    held = _hold_first(page, poll)
    page.fill("#prompt", second)
    page.click("#generate")
    _wait_held(page, held)  # the new picture's first poll
    page.locator("#gallery .thumb").first.click()
    expect(page.locator("#result-title")).to_have_text("From your gallery")
    expect(page.locator("#result-prompt")).to_have_text(f"“{first}”")
    held[0].continue_()
    page.unroute(poll)
    expect(page.locator("#gallery .thumb")).to_have_count(2, timeout=20_000)  # the new one is done
    expect(page.locator("#result-title")).to_have_text("From your gallery")
    expect(page.locator("#result-prompt")).to_have_text(f"“{first}”")
    expect(page.locator("#gen-status")).to_have_text("")
    expect(page.locator("#generate")).to_have_text("Generate")  # no longer busy


def _operator(server: str, server_var: Path) -> str:
    """A new account given the admin role in the server's database (the session's ADMIN_EMAILS
    account stays for the console test that signs it up)."""
    email = _email("operator")
    signup = httpx.post(f"{server}/api/v1/auth/signup", json={"email": email, "password": PASSWORD})
    assert signup.status_code == 201, signup.text
    engine = create_engine(f"sqlite:///{(server_var / 'conjure.db').as_posix()}")
    with Session(engine) as session:
        session.execute(update(User).where(User.email == email).values(role="admin"))
        session.commit()
    engine.dispose()
    return email


def test_the_console_shows_the_last_search_not_the_last_answer(
    page: Page, server: str, server_var: Path
) -> None:
    """The operator searches jobs by one email, then by another before the first answers: the
    first search's rows, answering last, are not shown under the second's filter."""
    jobs = {}
    for tag in ("first-customer", "second-customer"):
        email = _email(tag)
        sent = httpx.post(
            f"{server}/api/v1/tarot/read",
            json={"question": "Will my bakery do well this year?"},
            headers=_token(server, email),
        )
        assert sent.status_code == 202, sent.text
        jobs[email] = sent.json()["job_id"]
    first, second = jobs
    operator = _operator(server, server_var)
    page.goto("/admin")
    page.fill("#login-email", operator)
    page.fill("#login-password", PASSWORD)
    page.click("#login-form button[type=submit]")
    expect(page.locator("#console")).to_be_visible()
    page.locator("#autorefresh").set_checked(False)  # its searches would hide the late answer
    search = re.compile(r".*/api/v1/admin/jobs/search\?.*email=.*$")
    held = _hold_first(page, search)
    page.fill("#f-email", first)
    page.press("#f-email", "Enter")
    _wait_held(page, held)
    page.fill("#f-email", second)
    page.press("#f-email", "Enter")
    rows = page.locator("#jobs tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_attribute("data-job-id", jobs[second])
    with page.expect_response(search):
        held[0].continue_()  # the first search answers last
    page.unroute(search)
    page.wait_for_timeout(300)  # the late answer would be drawn now
    shown = rows.evaluate_all("rows => rows.map((r) => r.dataset.jobId)")
    assert shown == [jobs[second]], shown


def test_a_keyboard_operator_keeps_their_place_when_the_console_refreshes(
    page: Page, server: str, server_var: Path
) -> None:
    """The console draws its tables again every few seconds (auto-refresh); the job row a keyboard
    user is on is focused again in the new table, so Enter still opens it."""
    sent = httpx.post(
        f"{server}/api/v1/tarot/read",
        json={"question": "Will the market stall do well?"},
        headers=_token(server, _email("stall-owner")),
    )
    assert sent.status_code == 202, sent.text
    operator = _operator(server, server_var)
    page.goto("/admin")
    page.fill("#login-email", operator)
    page.fill("#login-password", PASSWORD)
    page.click("#login-form button[type=submit]")
    row = page.locator(f"#jobs tbody tr[data-job-id='{sent.json()['job_id']}']")
    expect(row).to_have_count(1)
    row.focus()
    row.evaluate("row => { row.dataset.drawn = 'before'; }")
    expect(page.locator("#jobs tbody tr[data-drawn]")).to_have_count(0, timeout=15_000)  # drawn again
    expect(row).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#detail")).to_have_attribute("open", "")


def test_a_keyboard_user_keeps_their_place_when_the_history_is_drawn_again(page: Page) -> None:
    """A reading that ends reads the history again and draws it anew; the past reading a keyboard
    user is on meanwhile is focused again in the new list."""
    sign_up(page, _email("keyboard-reader"))
    ask(page, "What should I focus on in my garden this spring?")
    items = page.locator("#history .history-item")
    expect(items).to_have_count(1, timeout=30_000)
    expect(page.locator("#ask-submit")).to_be_disabled()  # no question typed
    ask(page, "Should I learn the violin this year?")
    garden = items.filter(has_text="garden")
    garden.focus()
    garden.evaluate("button => { button.dataset.drawn = 'before'; }")
    expect(items).to_have_count(2, timeout=30_000)  # the second reading ended: drawn again
    expect(page.locator("#history [data-drawn]")).to_have_count(0)
    expect(garden).to_be_focused()


def test_pixelpop_a_keyboard_user_keeps_their_place_when_the_gallery_is_drawn_again(page: Page) -> None:
    """A picture that is done reads the gallery again and draws it anew; the picture a keyboard
    user is on meanwhile is focused again in the new gallery."""
    page.goto("/pixelpop")
    page.fill("#auth-email", _email("pixel-keyboard"))
    page.fill("#auth-password", PASSWORD)
    page.click("#auth-submit")
    page.fill("#prompt", "A lighthouse on a cliff at dusk")
    page.click("#generate")
    thumbs = page.locator("#gallery .thumb")
    expect(thumbs).to_have_count(1, timeout=20_000)
    page.fill("#prompt", "A red fox curled up in fresh snow")
    page.click("#generate")
    lighthouse = page.locator("#gallery .thumb[title^='A lighthouse']")
    lighthouse.focus()
    lighthouse.evaluate("thumb => { thumb.dataset.drawn = 'before'; }")
    expect(thumbs).to_have_count(2, timeout=20_000)  # the fox is done: drawn again
    expect(page.locator("#gallery [data-drawn]")).to_have_count(0)
    expect(lighthouse).to_be_focused()
