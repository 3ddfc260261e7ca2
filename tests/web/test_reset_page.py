"""The password reset page in Chromium: ask for a link, read it from the server's outbox, set a new
password, sign in with it; in English and in Thai."""

from __future__ import annotations

import email
import re
import time
import uuid
from email.message import EmailMessage
from email.policy import default
from pathlib import Path

import httpx
from playwright.sync_api import Page, expect

from tests.web.browser import shot

OLD, NEW = "old password one", "new password two"


def _sign_up(server: str, tag: str) -> str:
    address = f"{tag}-{uuid.uuid4().hex[:8]}@example.com"
    answer = httpx.post(f"{server}/api/v1/auth/signup", json={"email": address, "password": OLD})
    assert answer.status_code == 201, answer.text
    return address


def _mail_to(server_var: Path, address: str, timeout: float = 30) -> EmailMessage:
    """The email the server's worker wrote to its outbox for ``address`` (the embedded default)."""
    deadline = time.monotonic() + timeout
    while True:
        for path in sorted((server_var / "outbox").glob("*.eml")) if (server_var / "outbox").is_dir() else []:
            message = email.message_from_bytes(path.read_bytes(), policy=default)
            assert isinstance(message, EmailMessage)
            if message["To"] == address:
                return message
        assert time.monotonic() < deadline, f"no email to {address} in {server_var / 'outbox'}"
        time.sleep(0.1)


def _link(message: EmailMessage, server: str) -> str:
    found = re.search(rf"{re.escape(server)}/reset-password#token=[A-Za-z0-9_-]+", message.get_content())
    assert found is not None, message.get_content()
    return found.group(0)


def _request_link(page: Page, address: str) -> None:
    page.fill("#reset-email", address)
    page.click("#request-submit")
    expect(page.locator("#notice.ok")).to_be_visible()


def test_a_forgotten_password_is_reset_from_the_emailed_link(
    page: Page, server: str, server_var: Path
) -> None:
    address = _sign_up(server, "reset")
    page.goto("/")
    page.click("#tab-login")
    page.click("a.forgot")
    expect(page).to_have_url(f"{server}/reset-password")
    expect(page.locator("#request")).to_be_visible()
    shot(page, "reset-request")
    _request_link(page, address)
    expect(page.locator("#notice")).to_contain_text("If an account uses this email")
    shot(page, "reset-sent")

    message = _mail_to(server_var, address)
    assert message["Subject"] == "Reset your Conjure password"
    page.goto(_link(message, server))
    expect(page.locator("#choose")).to_be_visible()
    expect(page).to_have_url(f"{server}/reset-password")  # the token left the address bar
    page.fill("#reset-password", NEW)
    page.fill("#reset-password2", NEW + "x")
    page.click("#choose-submit")
    expect(page.locator("#notice")).to_have_text("The two passwords are not the same.")
    shot(page, "reset-choose-mismatch")
    page.fill("#reset-password2", NEW)
    page.click("#choose-submit")
    expect(page.locator("#done")).to_be_visible()
    expect(page.locator("#notice")).to_be_hidden()
    shot(page, "reset-done")

    page.click("#signin")
    page.click("#tab-login")
    page.fill("#auth-email", address)
    page.fill("#auth-password", NEW)
    page.click("#auth-submit")
    expect(page.locator("#app")).to_be_visible()
    old = httpx.post(f"{server}/api/v1/auth/login", json={"email": address, "password": OLD})
    assert old.status_code == 401
    assert old.json()["code"] == "invalid_credentials"


def test_the_page_speaks_thai_and_a_spent_link_asks_for_a_new_one(
    page: Page, server: str, server_var: Path
) -> None:
    address = _sign_up(server, "reset-th")
    page.goto("/reset-password")
    page.click("#lang-toggle")
    expect(page.locator("#request")).to_be_visible()
    expect(page.locator("#request h1")).to_have_text("ตั้งรหัสผ่านใหม่")
    shot(page, "reset-request-th")
    _request_link(page, address)
    expect(page.locator("#notice")).to_contain_text("ถ้ามีบัญชีที่ใช้อีเมลนี้")
    shot(page, "reset-sent-th")

    message = _mail_to(server_var, address)
    assert message["Subject"] == "ตั้งรหัสผ่าน Conjure ใหม่"  # the email follows the page's language
    link = _link(message, server)
    page.goto(link)
    expect(page.locator("#choose")).to_be_visible()
    expect(page.locator("#choose h1")).to_have_text("เลือกรหัสผ่านใหม่")
    shot(page, "reset-choose-th")
    page.fill("#reset-password", NEW)
    page.fill("#reset-password2", NEW)
    page.click("#choose-submit")
    expect(page.locator("#done")).to_be_visible()
    expect(page.locator("#done h1")).to_have_text("เปลี่ยนรหัสผ่านแล้ว")
    shot(page, "reset-done-th")

    # The same link again: spent. The page says so and offers to send a new one.
    page.goto("about:blank")
    page.goto(link)
    page.fill("#reset-password", "third password")
    page.fill("#reset-password2", "third password")
    page.click("#choose-submit")
    expect(page.locator("#notice")).to_have_text("ลิงก์นี้หมดอายุหรือถูกใช้ไปแล้ว ขอลิงก์ใหม่ได้ด้านล่าง")
    expect(page.locator("#request")).to_be_visible()
    shot(page, "reset-spent-th")


def test_the_sign_in_forms_link_to_the_reset_page_in_thai(page: Page) -> None:
    page.goto("/")
    expect(page.locator("#auth a.forgot")).to_be_hidden()  # signing up: nothing to recover yet
    page.click("#tab-login")
    page.click("#lang-toggle")
    expect(page.locator("#auth a.forgot")).to_have_text("ลืมรหัสผ่าน?")
    shot(page, "reset-forgot-link-th")
    for path in ("/assistant", "/staging"):
        page.goto(path)
        expect(page.locator("#auth a.forgot")).to_have_attribute("href", f"/reset-password?from={path}")


def test_the_reset_leads_back_to_the_page_it_was_asked_from(
    page: Page, server: str, server_var: Path
) -> None:
    """Asked for from the assistant's sign-in form: "Back to sign in", and "Sign in" once the emailed
    link (opened in the same browser) has set the password, go back to the assistant."""
    address = _sign_up(server, "reset-back")
    page.goto("/assistant")
    page.click("#auth a.forgot")
    expect(page.locator("#request a.back")).to_have_attribute("href", "/assistant")
    _request_link(page, address)
    page.goto("/reset-password?from=//elsewhere.example")  # not a path of this site: ignored
    expect(page.locator("#request a.back")).to_have_attribute("href", "/assistant")
    page.goto(_link(_mail_to(server_var, address), server))
    page.fill("#reset-password", NEW)
    page.fill("#reset-password2", NEW)
    page.click("#choose-submit")
    page.click("#signin")
    expect(page).to_have_url(f"{server}/assistant")
    page.fill("#auth-email", address)
    page.fill("#auth-password", NEW)
    page.click("#login")
    expect(page.locator("#app")).to_be_visible()
