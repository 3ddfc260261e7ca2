"""The ``/assistant`` page while things happen meanwhile: a list read held while the next message
goes, a rename ends, or a keyboard user waits; a message sent before the event stream opens. Each
test holds one request (the test answers it) to make the order it is about."""

from __future__ import annotations

import re
import time
from collections.abc import Sized

import httpx
from playwright.sync_api import Page, Route, expect

from tests.apps.assistant.signup import sign_up, talk

# The conversation list (not a conversation's messages).
LIST = re.compile(r".*/api/v1/assistant/conversations\?.*$")
EVENTS = re.compile(r".*/api/v1/events.*")


def _hold(tab: Page, url: re.Pattern[str], method: str) -> list[Route]:
    """Requests of ``method`` to ``url`` are held (the test answers them); the list fills as they come."""
    held: list[Route] = []

    def hold(route: Route) -> None:
        if route.request.method == method:
            held.append(route)
        else:
            route.continue_()

    tab.route(url, hold)
    return held


def test_a_message_sent_while_the_list_is_read_again_is_not_dropped(page: Page) -> None:
    """After a message is accepted the page reads the conversation list again; a next message sent
    meanwhile (a quick "yes" to an offer) goes at once instead of being dropped with its words left
    in the box."""
    page.goto("/assistant")
    sign_up(page, "quick-replier@example.com")
    held = _hold(page, LIST, "GET")  # answered below, once the next message has gone
    page.fill("#message", "Ideas for a rainy day")
    with page.expect_request(LIST):
        page.click("#send")
    expect(page.locator("#message")).to_have_value("")  # accepted; the list read is held
    assert held, "the page did not read its conversation list after sending"
    page.fill("#message", "And for a sunny one?")
    page.click("#send")
    expect(page.locator("#message")).to_have_value("")
    expect(page.locator("#messages .bubble.user")).to_have_count(2)
    for route in held:
        route.continue_()
    page.unroute(LIST)
    expect(page.locator("#messages .bubble.assistant .model-badge")).to_have_count(2, timeout=20_000)


def test_a_message_typed_right_after_new_goes_to_the_new_conversation(page: Page) -> None:
    """The "New" button makes its conversation on the server; a message sent before that answers goes to the
    new conversation once it exists, not to the one open before."""
    page.goto("/assistant")
    sign_up(page, "quick-starter@example.com")
    talk(page, "Plan my trip to Chiang Mai", 1)
    creation = re.compile(r".*/api/v1/assistant/conversations$")
    held = _hold(page, creation, "POST")  # answered below, once the next message was sent
    with page.expect_request(creation):
        page.click("#new-conversation")
    page.fill("#message", "Ideas for a birthday gift")
    page.press("#message", "Enter")
    page.wait_for_timeout(300)  # a message sent to the open conversation would be on its way now
    assert len(held) == 1
    held[0].continue_()
    page.unroute(creation)
    expect(page.locator("#messages .bubble.assistant .model-badge")).to_have_count(1, timeout=20_000)
    expect(page.locator("#messages .bubble.user")).to_have_text("Ideas for a birthday gift")
    gift = page.locator("#conversations li", has_text="birthday gift")
    expect(gift.locator("button.open")).to_have_class("open active")
    page.locator("#conversations li", has_text="Plan my trip").locator("button.open").click()
    expect(page.locator("#messages .bubble.user")).to_have_text("Plan my trip to Chiang Mai")


def test_a_title_being_renamed_stays_in_its_box_while_the_list_is_read_again(page: Page) -> None:
    """An answer that ends while a title is being edited reads the list again; the box and what is
    typed in it stay (the list is drawn again once the rename ends)."""
    page.goto("/assistant")
    sign_up(page, "slow-renamer@example.com")
    talk(page, "Plan my trip to Chiang Mai", 1)
    page.locator("#conversations button.rename").click()
    field = page.locator("#conversations input.rename-input")
    field.fill("Chiang Mai in")
    with page.expect_response(LIST):  # the list read after this message is accepted
        page.fill("#message", "And what should I pack?")
        page.click("#send")
    expect(page.locator("#messages .bubble.assistant .model-badge")).to_have_count(2, timeout=20_000)
    expect(field).to_have_value("Chiang Mai in")
    field.press("End")
    field.type(" March")
    field.press("Enter")
    expect(page.locator("#conversations button.open")).to_have_text("Chiang Mai in March")


def test_a_keyboard_user_keeps_their_place_when_the_list_is_drawn_again(page: Page) -> None:
    """The list is drawn again after a message is accepted; the button focused meanwhile (Rename of
    a conversation) is focused again in the new list, so the next Enter still renames."""
    page.goto("/assistant")
    sign_up(page, "keyboard-user@example.com")
    talk(page, "Plan my trip to Chiang Mai", 1)
    held = _hold(page, LIST, "GET")  # the read after the next message, answered below
    with page.expect_request(LIST):
        page.fill("#message", "And what should I pack?")
        page.press("#message", "Enter")
    expect(page.locator("#messages .bubble.assistant .model-badge")).to_have_count(2, timeout=20_000)
    rename = page.locator("#conversations button.rename")
    rename.focus()
    rename.evaluate("button => { button.dataset.drawn = 'before'; }")
    for route in held:
        route.continue_()
    page.unroute(LIST)
    expect(page.locator("#conversations button[data-drawn]")).to_have_count(0)  # drawn again
    expect(page.locator("#conversations button.rename")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#conversations input.rename-input")).to_be_focused()


def _wait_held(tab: Page, held: Sized, count: int) -> None:
    for _ in range(150):
        if len(held) >= count:
            return
        tab.wait_for_timeout(100)  # route handlers run while the test waits
    raise AssertionError(f"{len(held)} requests held, expected {count}")


def test_a_rename_ended_while_another_tabs_answer_ends_gives_the_focus_back(page: Page) -> None:
    """Escape reads the list again to end a rename; an answer sent from another tab ending meanwhile
    reads it too, and that newer read is the one drawn. The focus still goes back to Rename."""
    page.goto("/assistant")
    sign_up(page, "two-readers@example.com")
    talk(page, "Plan my trip to Chiang Mai", 1)
    other = page.context.new_page()  # the same person in a second tab, on the same conversation
    other.goto("/assistant")
    expect(other.locator("#messages .bubble")).to_have_count(2)
    page.bring_to_front()
    page.locator("#conversations button.rename").click()
    field = page.locator("#conversations input.rename-input")
    expect(field).to_be_focused()
    held = _hold(page, LIST, "GET")
    field.press("Escape")  # the rename's read of the list, held
    _wait_held(page, held, 1)
    other.fill("#message", "And what should I pack?")
    other.press("#message", "Enter")
    _wait_held(page, held, 2)  # this tab read the list again as the other tab's answer ended
    with page.expect_response(LIST):
        held[0].continue_()  # the older read answers first: it is not drawn
    page.wait_for_timeout(300)
    held[1].continue_()
    page.unroute(LIST)
    page.bring_to_front()
    expect(page.locator("#conversations input")).to_have_count(0)
    expect(page.locator("#conversations button.rename")).to_be_focused()
    expect(page.locator("#messages .bubble.assistant .model-badge")).to_have_count(2)
    other.close()


def test_a_message_sent_before_the_event_stream_opens_waits_for_it(page: Page) -> None:
    """Just signed in, the page's event stream may open after a first message is sent; the stream
    follows from when it opens, so the message waits for it and its answer is shown."""
    page.goto("/assistant")
    held = _hold(page, EVENTS, "GET")
    sign_up(page, "early-sender@example.com")
    _wait_held(page, held, 1)
    page.fill("#message", "Ideas for a rainy day")
    page.click("#send")
    page.wait_for_timeout(1000)  # a message that did not wait would have been accepted by now
    expect(page.locator("#message")).to_have_value("Ideas for a rainy day")
    held[0].continue_()
    page.unroute(EVENTS)
    expect(page.locator("#message")).to_have_value("")
    expect(page.locator("#messages .bubble.assistant .model-badge")).to_have_count(1, timeout=20_000)


def _stream_that_drops(tab: Page) -> list[Route]:
    """The page's first event stream is the server's, cut after its first message (where it starts);
    its reconnections are held (the test answers them)."""
    held: list[Route] = []
    relayed: list[str] = []

    def relay_then_hold(route: Route) -> None:
        if relayed:
            held.append(route)
            return
        relayed.append(route.request.url)
        body = ""
        auth = {"Authorization": route.request.headers["authorization"]}
        with (
            httpx.Client(timeout=httpx.Timeout(5.0, read=1.0)) as client,
            client.stream("GET", route.request.url, headers=auth) as response,
        ):
            try:
                for line in response.iter_lines():
                    body += line + "\n"
                    if not line and body.strip():
                        break  # the first message
            except httpx.ReadTimeout:
                pass  # nothing came
        route.fulfill(status=200, headers={"Content-Type": "text/event-stream"}, body=body)

    tab.route(EVENTS, relay_then_hold)
    return held


def test_an_answer_that_ends_while_the_stream_is_down_shows_once_it_is_back(page: Page, server: str) -> None:
    """The event stream drops before any event reached the page (a deploy, a network change) and an
    answer sent elsewhere ends meanwhile: the page resumes from where its stream started, and shows it."""
    page.goto("/assistant")
    held = _stream_that_drops(page)
    sign_up(page, "reconnecting@example.com")
    with page.expect_response(re.compile(r".*/api/v1/assistant/conversations$")):
        page.click("#new-conversation")
    _wait_held(page, held, 1)  # the stream dropped, and the page is reconnecting
    conversation = page.locator("#conversations li").first.get_attribute("data-id")
    token = page.evaluate("localStorage.getItem('conjure.access_token')")
    with httpx.Client(base_url=server, headers={"Authorization": f"Bearer {token}"}) as api:
        sent = api.post(
            f"/api/v1/assistant/conversations/{conversation}/messages",
            json={"content": "Ideas for a rainy day"},
        )
        assert sent.status_code == 202, sent.text
        for _ in range(100):
            listed = api.get(f"/api/v1/assistant/conversations/{conversation}/messages").json()["items"]
            if any(m["role"] == "assistant" for m in listed):
                break
            time.sleep(0.2)
        else:
            raise AssertionError("the answer did not end")
    for route in held:
        route.continue_()
    page.unroute(EVENTS)
    expect(page.locator("#messages .bubble.assistant .model-badge")).to_have_count(1, timeout=20_000)
    expect(page.locator("#messages .bubble.user")).to_have_text("Ideas for a rainy day")


def test_a_stream_that_cannot_open_holds_no_message_back(page: Page) -> None:
    """Too many streams open in other tabs (429): the page cannot hear events, so a message goes at
    once rather than waiting for a stream that will not open (its answer shows when the list is read)."""
    attempts: list[str] = []

    def refuse(route: Route) -> None:
        attempts.append(route.request.url)
        problem = {
            "type": "about:blank",
            "title": "Too Many Requests",
            "status": 429,
            "code": "too_many_streams",
        }
        route.fulfill(status=429, headers={"Retry-After": "1"}, json=problem)

    page.route(EVENTS, refuse)
    page.goto("/assistant")
    sign_up(page, "many-tabs@example.com")
    _wait_held(page, attempts, 1)
    page.fill("#message", "Ideas for a rainy day")
    with page.expect_request(re.compile(r".*/messages$")):
        page.click("#send")
    # Retried every second: a message that waited out the stream's 5 s would see five tries first.
    assert len(attempts) <= 3, attempts
    expect(page.locator("#message")).to_have_value("")
