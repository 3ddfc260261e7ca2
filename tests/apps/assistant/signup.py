"""The assistant page's browser tests' shared first steps: a new person signs up, and talks."""

from __future__ import annotations

from playwright.sync_api import Page, expect


def sign_up(tab: Page, email: str) -> None:
    """Sign up on the open ``/assistant`` page as ``email``, and wait for the signed-in app."""
    tab.fill("#auth-email", email)
    tab.fill("#auth-password", "correct horse battery")
    tab.click("#signup")
    expect(tab.locator("#app")).to_be_visible()


def talk(tab: Page, text: str, answers: int) -> None:
    """Send ``text`` with Enter, and wait until ``answers`` answers of the open conversation have ended."""
    tab.fill("#message", text)
    tab.press("#message", "Enter")
    expect(tab.locator("#messages .bubble.assistant .model-badge")).to_have_count(answers, timeout=20_000)
