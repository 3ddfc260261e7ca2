"""The ``/assistant`` page (the shared ``conjure up``): conversations renamed inline and deleted
after a confirmation, with the keyboard alone; the stars badge leads to where stars are bought;
in Thai, the assistant's own sentences, the alt texts and the aria labels are Thai."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.apps.assistant.signup import sign_up, talk
from tests.apps.staging.conftest import room_photo
from tests.web.browser import shot


def test_rename_and_delete_conversations_with_the_keyboard(page: Page) -> None:
    page.goto("/assistant")
    sign_up(page, "organizer@example.com")
    talk(page, "Plan my trip to Chiang Mai", 1)
    page.click("#new-conversation")
    talk(page, "Ideas for a birthday gift", 1)
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


def test_in_thai_the_assistant_and_its_labels_speak_thai(page: Page) -> None:
    page.goto("/assistant")
    page.click("#lang-toggle")
    sign_up(page, "thai-labels@example.com")
    page.set_input_files(
        "#photo", files=[{"name": "room.jpg", "mimeType": "image/jpeg", "buffer": room_photo(320, 240)}]
    )
    expect(page.locator("#photo-thumb")).to_have_attribute("alt", "รูปที่จะส่ง")
    expect(page.locator("#photo-remove")).to_have_attribute("aria-label", "เอารูปออก")
    expect(page.locator("#photo-status")).to_contain_text("แนบแล้ว")
    talk(page, "สวัสดีค่ะ ช่วยแต่งห้องนอนนี้ให้หน่อย", 1)
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
