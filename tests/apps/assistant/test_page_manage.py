"""The ``/assistant`` page (the shared ``conjure up``): conversations renamed inline and deleted
after a confirmation, with the keyboard alone; the stars badge leads to where stars are bought;
in Thai, the assistant's own sentences, the alt texts and the aria labels are Thai."""

from __future__ import annotations

import re

from playwright.sync_api import Page, Route, expect

from tests.apps.assistant.signup import sign_up
from tests.apps.staging.conftest import room_photo
from tests.web.conftest import (  # noqa: F401  (fixtures)
    browser,
    page,
    screenshots,
    server,
    server_var,
    shot,
    stripe,
)


def _talk(tab: Page, text: str, answers: int) -> None:
    tab.fill("#message", text)
    tab.press("#message", "Enter")
    expect(tab.locator("#messages .bubble.assistant .model-badge")).to_have_count(answers, timeout=20_000)


def test_rename_and_delete_conversations_with_the_keyboard(page: Page) -> None:  # noqa: F811
    page.goto("/assistant")
    sign_up(page, "organizer@example.com")
    _talk(page, "Plan my trip to Chiang Mai", 1)
    page.click("#new-conversation")
    _talk(page, "Ideas for a birthday gift", 1)
    items = page.locator("#conversations li")
    expect(items).to_have_count(2)

    trip = page.locator("#conversations li", has_text="Plan my trip")
    rename = trip.locator("button.rename")
    expect(rename).to_have_attribute("aria-label", "Rename “Plan my trip to Chiang Mai”")
    rename.focus()
    page.keyboard.press("Enter")
    field = page.locator("#conversations input.rename-input")
    expect(field).to_be_focused()
    expect(field).to_have_attribute("aria-label", "New name for the conversation")
    page.keyboard.press("Escape")  # changed my mind: the title stays
    expect(page.locator("#conversations input")).to_have_count(0)
    expect(rename).to_be_focused()
    page.keyboard.press("Enter")
    field.fill("Chiang Mai in March")
    shot(page, "assistant-15-renaming")
    page.keyboard.press("Enter")
    renamed = page.locator("#conversations li", has_text="Chiang Mai in March")
    expect(renamed.locator("button.rename")).to_be_focused()
    expect(page.locator("#conversations li", has_text="Plan my trip")).to_have_count(0)

    gift = page.locator("#conversations li", has_text="birthday gift")
    expect(gift.locator("button.open")).to_have_class("open active")
    gift.locator("button.delete").focus()
    page.keyboard.press("Enter")
    dialog = page.locator("#delete-dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("“Ideas for a birthday gift” and all its messages will be deleted.")
    expect(page.locator("#delete-cancel")).to_be_focused()  # the safe choice first
    shot(page, "assistant-16-delete-confirm")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(items).to_have_count(2)
    expect(gift.locator("button.delete")).to_be_focused()
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    expect(page.locator("#delete-confirm")).to_be_focused()
    page.keyboard.press("Enter")
    expect(items).to_have_count(1)
    expect(items.first).to_contain_text("Chiang Mai in March")
    # The deleted conversation was the open one: the one left opens in its place.
    expect(page.locator("#conversations button.active")).to_have_text("Chiang Mai in March")
    expect(page.locator("#messages .bubble.user")).to_have_text("Plan my trip to Chiang Mai")
    page.reload()
    expect(page.locator("#conversations li")).to_have_count(1)
    expect(page.locator("#conversations button.open")).to_have_text("Chiang Mai in March")
    shot(page, "assistant-17-after-delete")

    link = page.locator("#stars-link")
    expect(link).to_have_attribute("href", "/billing")
    expect(link).to_have_attribute("title", "Buy stars")
    expect(page.locator("#stars")).to_have_text("★ 3")
    link.focus()
    page.keyboard.press("Enter")
    page.wait_for_url("**/billing")
    # The visitor page, signed in already, at its plans and its "Buy stars" packages.
    expect(page.locator("#buy h2")).to_have_text("Buy stars")
    expect(page.locator("#billing")).to_be_visible()


def test_in_thai_the_assistant_and_its_labels_speak_thai(page: Page) -> None:  # noqa: F811
    page.goto("/assistant")
    page.click("#lang-toggle")
    sign_up(page, "thai-labels@example.com")
    page.set_input_files(
        "#photo", files=[{"name": "room.jpg", "mimeType": "image/jpeg", "buffer": room_photo(320, 240)}]
    )
    expect(page.locator("#photo-thumb")).to_have_attribute("alt", "รูปที่จะส่ง")
    expect(page.locator("#photo-remove")).to_have_attribute("aria-label", "เอารูปออก")
    expect(page.locator("#photo-status")).to_contain_text("แนบแล้ว")
    _talk(page, "สวัสดีค่ะ ช่วยแต่งห้องนอนนี้ให้หน่อย", 1)
    answer = page.locator("#messages .bubble.assistant").first
    expect(answer).to_contain_text("ตอนนี้ฉันทำงานแบบออฟไลน์อยู่")  # the offline reply, in Thai
    expect(answer).to_contain_text("ฉันช่วยแต่งห้องนอนในรูปของคุณเป็นสไตล์โมเดิร์นให้ได้ค่ะ ราคา 1 ดาว")
    expect(page.locator("#messages .bubble.user img.photo")).to_have_attribute("alt", "รูปของคุณ")
    expect(page.locator("#message")).to_have_attribute("aria-label", "ข้อความ")
    expect(page.locator("#stars-link")).to_have_attribute("title", "ซื้อดาว")
    title = "สวัสดีค่ะ ช่วยแต่งห้องนอนนี้ให้หน่อย"
    conversation = page.locator("#conversations li").first
    expect(conversation.locator("button.rename")).to_have_attribute("aria-label", f"เปลี่ยนชื่อ “{title}”")
    expect(conversation.locator("button.delete")).to_have_attribute("aria-label", f"ลบ “{title}”")
    shot(page, "assistant-18-thai-offline-offer")
    conversation.locator("button.delete").click()
    expect(page.locator("#delete-dialog h2")).to_have_text("ลบบทสนทนานี้ไหม")
    expect(page.locator("#delete-confirm")).to_have_text("ลบ")
    shot(page, "assistant-19-thai-delete-confirm")
    page.click("#delete-cancel")
    page.click("#lang-toggle")  # and back: every label follows
    expect(page.locator("#photo-remove")).to_have_attribute("aria-label", "Remove the photo")
    expect(page.locator("#message")).to_have_attribute("aria-label", "Message")
    expect(page.locator("#messages .bubble.user img.photo")).to_have_attribute("alt", "Your photo")


# The conversation list (not a conversation's messages).
LIST = re.compile(r".*/api/v1/assistant/conversations\?.*$")


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


def test_a_message_sent_while_the_list_is_read_again_is_not_dropped(page: Page) -> None:  # noqa: F811
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


def test_a_message_typed_right_after_new_goes_to_the_new_conversation(page: Page) -> None:  # noqa: F811
    """The "New" button makes its conversation on the server; a message sent before that answers goes to the
    new conversation once it exists, not to the one open before."""
    page.goto("/assistant")
    sign_up(page, "quick-starter@example.com")
    _talk(page, "Plan my trip to Chiang Mai", 1)
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


def test_a_title_being_renamed_stays_in_its_box_while_the_list_is_read_again(page: Page) -> None:  # noqa: F811
    """An answer that ends while a title is being edited reads the list again; the box and what is
    typed in it stay (the list is drawn again once the rename ends)."""
    page.goto("/assistant")
    sign_up(page, "slow-renamer@example.com")
    _talk(page, "Plan my trip to Chiang Mai", 1)
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


def test_a_keyboard_user_keeps_their_place_when_the_list_is_drawn_again(page: Page) -> None:  # noqa: F811
    """The list is drawn again after a message is accepted; the button focused meanwhile (Rename of
    a conversation) is focused again in the new list, so the next Enter still renames."""
    page.goto("/assistant")
    sign_up(page, "keyboard-user@example.com")
    _talk(page, "Plan my trip to Chiang Mai", 1)
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
