"""The ``/assistant`` page in Thai at phone width, offline (no model): what a Thai person says about
themselves is remembered in Thai, recalled for a Thai question, and a meditation is written and
voiced in Thai, its script shown to read along."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.apps.assistant.signup import sign_up
from tests.web.browser import shot


def test_in_thai_a_fact_is_remembered_and_a_meditation_is_written_in_thai(page: Page) -> None:
    page.goto("/assistant")
    page.click("#lang-toggle")
    expect(page.locator("html")).to_have_attribute("lang", "th")
    sign_up(page, "mali@example.com")

    page.fill("#message", "สวัสดีค่ะ ฉันชื่อมะลิ ฉันแพ้ถั่วค่ะ")
    page.click("#send")
    expect(page.locator("#memories li")).to_have_count(2, timeout=20_000)
    expect(page.locator("#memories")).to_contain_text("ชื่อมะลิ")
    expect(page.locator("#memories")).to_contain_text("แพ้ถั่ว")
    page.fill("#message", "ฉันกินถั่วลิสงได้ไหม")
    page.click("#send")
    recalled = page.locator("#messages .bubble.assistant").nth(1)
    expect(recalled).to_contain_text("สิ่งที่ฉันจำได้และน่าจะเกี่ยวข้อง: แพ้ถั่ว", timeout=20_000)

    page.fill("#meditation-theme", "การนอนหลับ")
    page.fill("#meditation-minutes", "3")
    page.click("#meditate")
    expect(page.locator("#meditation-status")).to_contain_text("เสร็จแล้ว", timeout=60_000)
    expect(page.locator("#player")).to_be_visible()
    page.click("#meditation-script summary")
    lines = page.locator("#meditation-lines li")
    expect(lines.first).to_have_text("ยินดีต้อนรับค่ะ หาท่านั่งหรือท่านอนที่สบาย แล้วค่อยๆ หลับตาลง หรือทอดสายตาลงต่ำเบาๆ")
    expect(lines).to_have_count(4)
    expect(page.locator("#meditation-script summary")).to_have_text("อ่านบทไปพร้อมกัน")
    page.locator("#meditation-script").scroll_into_view_if_needed()
    shot(page, "assistant-23-thai-memory-meditation")
