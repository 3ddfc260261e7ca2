"""The assistant page's browser tests' shared first step: a new person signs up."""

from __future__ import annotations

from playwright.sync_api import Page, expect


def sign_up(tab: Page, email: str) -> None:
    """Sign up on the open ``/assistant`` page as ``email``, and wait for the signed-in app."""
    tab.fill("#auth-email", email)
    tab.fill("#auth-password", "correct horse battery")
    tab.click("#signup")
    expect(tab.locator("#app")).to_be_visible()
