"""The ``/assistant`` page while an answer is still being written, against ``conjure up`` with a
slow local model (the OpenAI-compatible peer streaming a word every 0.2 s): a reload mid-answer
shows the answer from its first word, not from wherever the stream was."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.apps.assistant.openai_peer import OpenAIPeer
from tests.apps.assistant.signup import sign_up
from tests.servers import free_port
from tests.web.browser import conjure_up, shot

WORDS = [f"word{i}" for i in range(30)]


@pytest.fixture(scope="module")
def slow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    peer = OpenAIPeer(reply=" ".join(WORDS), token_delay=0.2)
    peer.start()
    var = tmp_path_factory.mktemp("slow-assistant")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "REDIS_", "STRIPE_", "AI_"))}
    env.update(
        VAR_DIR=str(var),
        PUBLIC_BASE_URL=f"http://127.0.0.1:{port}",
        ASSISTANT_LOCAL_BASE_URL=f"{peer.url}/v1",
        ASSISTANT_MEMORY_EXTRACTOR="patterns",
        RATE_LIMIT_ANONYMOUS="1000/minute",
        RATE_LIMIT_LOGIN="1000/minute",
    )
    try:
        with conjure_up(var, env, port) as base:
            yield base
    finally:
        peer.stop()


def signed_up(chromium: Browser, server: str, email: str) -> tuple[BrowserContext, Page, list[str]]:
    """A phone-sized page on the assistant, signed up as ``email``; the page's errors collect."""
    context = chromium.new_context(base_url=server, viewport={"width": 390, "height": 844}, locale="en-US")
    context.set_default_timeout(15_000)
    page: Page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto("/assistant")
    sign_up(page, email)
    return context, page, errors


def test_a_reload_mid_answer_shows_it_from_the_first_word(browser, slow_server: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    context, page, errors = signed_up(browser, slow_server, "reloader@example.com")
    page.fill("#message", "Tell me a long story")
    page.click("#send")
    answer = page.locator("#messages .bubble.assistant").first
    expect(answer).to_contain_text("word5", timeout=20_000)
    expect(answer).to_have_class("bubble assistant streaming")

    page.reload()  # mid-answer: its first words were streamed before the page existed
    answer = page.locator("#messages .bubble.assistant").first
    expect(answer).to_contain_text("word20", timeout=20_000)
    assert (answer.locator(".text").text_content() or "").startswith("word0 word1 word2")
    expect(answer).not_to_have_class("bubble assistant streaming", timeout=20_000)
    expect(answer.locator(".text")).to_have_text(" ".join(WORDS))
    expect(answer.locator(".model-badge")).to_have_text("Local model")
    expect(page.locator("#messages .bubble")).to_have_count(2)
    shot(page, "assistant-14-reloaded-mid-answer")
    context.close()
    assert not errors, errors


def test_stop_keeps_what_arrived_and_the_person_can_send_again(browser, slow_server: str) -> None:  # type: ignore[no-untyped-def]
    context, page, errors = signed_up(browser, slow_server, "stopper@example.com")
    expect(page.locator("#stop")).to_be_hidden()
    page.fill("#message", "Tell me a long story")
    page.click("#send")
    answer = page.locator("#messages .bubble.assistant").first
    expect(answer).to_contain_text("word3", timeout=20_000)
    expect(page.locator("#stop")).to_be_visible()
    expect(page.locator("#stop")).to_have_text("■ Stop")
    shot(page, "assistant-20-streaming-stop")
    page.click("#stop")
    expect(answer).to_have_class("bubble assistant stopped")
    expect(answer.locator(".ended")).to_have_text("Stopped. Nothing was charged.")
    expect(page.locator("#stop")).to_be_hidden()
    shown = answer.locator(".text").text_content() or ""
    assert shown.startswith("word0 word1 word2 word3")
    page.wait_for_timeout(1_000)  # the model would have written ~5 more words by now
    expect(answer.locator(".text")).to_have_text(shown)
    assert "word29" not in shown
    expect(page.locator("#message")).to_be_focused()
    shot(page, "assistant-21-stopped")

    page.fill("#message", "A shorter one then")  # sending again works at once
    page.keyboard.press("Enter")
    second = page.locator("#messages .bubble.assistant").nth(1)
    expect(second).to_contain_text("word1", timeout=20_000)
    expect(page.locator("#notice")).to_be_hidden()
    page.reload()  # the stopped answer reads as stopped; the one being written goes on
    expect(page.locator("#messages .bubble.user")).to_have_count(2)
    expect(page.locator("#messages .bubble.assistant.stopped .ended")).to_have_text(
        "Stopped. Nothing was charged."
    )
    page.click("#lang-toggle")
    expect(page.locator("#stop")).to_have_text("■ หยุด")
    expect(page.locator("#messages .bubble.assistant.stopped .ended")).to_have_text("หยุดแล้ว ไม่มีการตัดดาว")
    page.click("#stop")
    expect(page.locator("#messages .bubble.assistant.stopped")).to_have_count(2)
    expect(page.locator("#stop")).to_be_hidden()
    expect(page.locator("#stars")).to_have_text("★ 3")
    shot(page, "assistant-22-stopped-thai")
    context.close()
    assert not errors, errors
