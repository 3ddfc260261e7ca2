"""The ``/assistant`` page in headless Chromium against ``conjure up``: sign up, a conversation whose
answer streams in with its model badge, memories shown and forgotten, a meditation played."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.web.conftest import browser, page, screenshots, server, shot, stripe  # noqa: F401  (fixtures)


def test_chat_remember_forget_and_meditate_from_the_page(page: Page, server: str) -> None:  # noqa: F811
    response = page.goto("/assistant")
    assert response is not None
    csp = response.headers["content-security-policy"]
    assert f"media-src 'self' {server}" in csp
    assert "'unsafe-inline'" not in csp
    page.fill("#auth-email", "talker@example.com")
    page.fill("#auth-password", "correct horse battery")
    page.click("#signup")
    expect(page.locator("#app")).to_be_visible()
    expect(page.locator("#stars")).to_have_text("★ 3")
    shot(page, "assistant-01-empty")

    page.fill("#message", "Hi! My name is Dao and I love hiking in the mountains.")
    page.click("#send")
    answer = page.locator("#messages .bubble.assistant").first
    expect(answer).to_contain_text("I'm running offline", timeout=20_000)
    expect(answer.locator(".model-badge")).to_have_text("Offline", timeout=20_000)
    expect(page.locator("#conversations button.active")).to_contain_text("Hi! My name is Dao")
    expect(page.locator("#memories li")).to_have_count(2, timeout=20_000)
    expect(page.locator("#memories")).to_contain_text("Their name is Dao.")
    shot(page, "assistant-02-answered")

    page.fill("#message", "Can you do a tarot reading about my next hiking trip?")
    page.click("#send")
    offer = page.locator("#messages .bubble.assistant").nth(1)
    expect(offer).to_contain_text("for 1 star. Shall I go ahead?", timeout=20_000)
    page.fill("#message", "yes")
    page.click("#send")
    reading = page.locator("#messages .bubble.assistant").nth(2)
    expect(reading).to_contain_text("Your cards:", timeout=30_000)
    expect(reading.locator(".model-badge")).to_have_text("Delegated")
    expect(page.locator("#stars")).to_have_text("★ 2", timeout=10_000)
    shot(page, "assistant-03-delegated")

    page.click("#memories li:has-text('hiking') button")
    expect(page.locator("#memories li")).to_have_count(1)
    expect(page.locator("#memories")).not_to_contain_text("hiking")

    page.fill("#meditation-theme", "letting go of work stress")
    page.fill("#meditation-minutes", "3")
    page.click("#meditate")
    expect(page.locator("#meditation-status")).to_contain_text("Ready", timeout=60_000)
    expect(page.locator("#player")).to_be_visible()
    page.wait_for_function("() => document.getElementById('player').readyState >= 1")
    duration = page.eval_on_selector("#player", "el => el.duration")
    assert 162 <= duration <= 198
    expect(page.locator("#stars")).to_have_text("★ 0")
    shot(page, "assistant-04-meditation")
