"""The account section of the tarot page in Chromium: linked sign-ins, data export, account deletion."""

from __future__ import annotations

import json
import re
import time
import uuid
from urllib.parse import quote, urlencode

import httpx
from playwright.sync_api import Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from conjure.auth.telegram import sign
from tests.web.browser import BOT_TOKEN, SCREENSHOTS, shot

PASSWORD = "correct horse battery"


def _email(tag: str) -> str:
    return f"{tag}-{uuid.uuid4().hex[:8]}@example.com"


def _sign_up(page: Page, email: str) -> None:
    page.goto("/")
    page.fill("#auth-email", email)
    page.fill("#auth-password", PASSWORD)
    page.click("#auth-submit")
    expect(page.locator("#app")).to_be_visible()
    expect(page.locator("#identities li")).to_have_count(1)


def _telegram_launch(user_id: int, name: str) -> str:
    fields = {
        "auth_date": str(int(time.time())),
        "query_id": "AAH-account",
        "user": json.dumps({"id": user_id, "first_name": name}),
    }
    init_data = urlencode({**fields, "hash": sign(fields, BOT_TOKEN)})
    return f"/#tgWebAppData={quote(init_data)}&tgWebAppVersion=7.0&tgWebAppPlatform=android"


def _luminance(css: str) -> float:
    """Relative luminance (WCAG 2) of a computed ``rgb(r, g, b)`` colour."""
    channels = [int(part) / 255 for part in re.findall(r"\d+", css)[:3]]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def _contrast(colors: list[str]) -> float:
    lighter, darker = sorted((_luminance(c) for c in colors), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def test_a_refused_sign_up_name_says_why_in_thai(page: Page) -> None:
    page.goto("/")
    page.click("#lang-toggle")
    page.fill("#auth-email", _email("bidi"))
    page.fill("#auth-password", PASSWORD)
    page.fill("#auth-name", "ดาว\u202eevil")
    page.click("#auth-submit")
    # Not "too long": the name is short, its direction override is what the server refused.
    expect(page.locator("#notice")).to_contain_text("อักขระที่เปลี่ยนทิศทางข้อความ")
    expect(page.locator("#auth")).to_be_visible()


def test_export_and_delete_an_email_account(page: Page, server: str) -> None:
    email = _email("leaving")
    _sign_up(page, email)
    row = page.locator("#identities li")
    expect(row).to_contain_text("Email and password")
    expect(row).to_contain_text(email)
    # The only way in cannot be removed.
    expect(row.locator("button")).to_be_disabled()
    expect(page.locator("#link-password-box")).to_be_hidden()  # it already has a password
    with page.expect_download() as download:
        page.click("#export-data")
    exported = json.loads(download.value.path().read_text())
    assert exported["profile"]["email"] == email
    assert exported["identities"][0]["provider"] == "password"
    # Said beside the button (the sign-ins' message is screens away on a phone, above the API keys).
    expect(page.locator(".account-row + #export-msg")).to_have_text("Your data is downloading.")
    page.locator("#delete-box summary").click()
    danger = page.locator("#delete-account button[type=submit]")
    colors = danger.evaluate("b => [getComputedStyle(b).color, getComputedStyle(b).backgroundColor]")
    assert _contrast(colors) >= 4.5
    expect(page.locator("#delete-password-row")).to_be_visible()
    expect(page.locator("#delete-fresh")).to_be_hidden()
    # No password typed: asked for it on the page, not told to sign in again by the server.
    deletes: list[str] = []
    page.on("request", lambda request: deletes.append(request.url) if request.method == "DELETE" else None)
    page.click("#delete-account button[type=submit]")
    expect(page.locator("#delete-msg")).to_have_text("Type your password first.")
    assert deletes == []
    expect(page.locator("#delete-password")).to_be_focused()
    page.fill("#delete-password", "not my password")
    page.click("#delete-account button[type=submit]")
    expect(page.locator("#delete-msg")).to_contain_text("That is not your password")
    page.locator("#account").scroll_into_view_if_needed()
    shot(page, "20-account-delete-refused")
    page.fill("#delete-password", PASSWORD)
    page.click("#delete-account button[type=submit]")
    expect(page.locator("#auth")).to_be_visible()
    expect(page.locator("#notice")).to_have_text("Your account has been deleted.")
    shot(page, "21-account-deleted")
    login = httpx.post(f"{server}/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert login.status_code == 401


def test_telegram_user_links_an_email_removes_it_in_thai_and_deletes(page: Page, server: str) -> None:
    email = _email("linked")
    page.goto(_telegram_launch(555000000 + uuid.uuid4().int % 100000, "Mali"))
    expect(page.locator("#app")).to_be_visible()
    expect(page.locator("#identities li")).to_have_count(1)
    expect(page.locator("#identities li")).to_contain_text("Telegram")
    expect(page.locator("#link-telegram")).to_be_hidden()  # already this Telegram account's
    page.locator("#link-password-box summary").click()
    page.fill("#link-email", email)
    page.fill("#link-password-input", PASSWORD)
    page.click("#link-password button[type=submit]")
    expect(page.locator("#account-msg")).to_have_text("Linked. You can now sign in with it too.")
    expect(page.locator("#identities li")).to_have_count(2)
    page.locator("#account").scroll_into_view_if_needed()
    shot(page, "22-account-linked")
    # The linked email signs in to the same account (same wallet).
    login = httpx.post(f"{server}/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert login.status_code == 200, login.text
    assert login.json()["user"]["name"] == "Mali"

    page.click("#lang-toggle")
    expect(page.locator("#account h2")).to_have_text("บัญชี")
    # The message showing is said again in Thai, not left in English.
    expect(page.locator("#account-msg")).to_have_text("เชื่อมแล้ว ตอนนี้คุณเข้าสู่ระบบด้วยวิธีนี้ได้ด้วย")
    expect(page.locator("#identities li").first).to_contain_text("Telegram")
    # Removing a way in asks first (in Thai); Cancel keeps it.
    email_row = page.locator("#identities li", has_text="อีเมลและรหัสผ่าน")
    email_row.get_by_role("button", name="ลบ").click()
    question = page.locator("#identities .confirm")
    expect(question.locator(".confirm-question")).to_have_text("อีเมลและรหัสผ่าน: ลบวิธีเข้าสู่ระบบนี้ใช่ไหม")
    page.locator("#account").scroll_into_view_if_needed()
    shot(page, "23-account-thai-remove-asked")
    question.get_by_role("button", name="ยกเลิก").click()
    expect(question).to_have_count(0)
    expect(page.locator("#identities li")).to_have_count(2)
    email_row.get_by_role("button", name="ลบ").click()
    question.get_by_role("button", name="ลบ").click()
    expect(page.locator("#account-msg")).to_have_text("ลบแล้ว")
    expect(page.locator("#identities li")).to_have_count(1)
    shot(page, "23-account-thai")

    # No password any more: a fresh sign-in (this launch, moments ago) confirms the deletion, and
    # with nothing to type, one tap only asks; the account goes on the answer.
    page.locator("#delete-box summary").click()
    expect(page.locator("#delete-password-row")).to_be_hidden()
    expect(page.locator("#delete-fresh")).to_be_visible()
    page.click("#delete-account button[type=submit]")
    asked = page.locator("#delete-account .confirm")
    expect(asked).to_contain_text("ลบบัญชีของคุณใช่ไหม การลบนี้ย้อนกลับไม่ได้")
    expect(page.locator("#app")).to_be_visible()
    shot(page, "25-account-thai-delete-asked")
    asked.get_by_role("button", name="ใช่ ลบบัญชีของฉัน").click()
    expect(page.locator("#notice")).to_have_text("ลบบัญชีของคุณแล้ว")


def test_in_telegram_an_email_account_absorbs_the_new_telegram_account(page: Page, server: str) -> None:
    email = _email("both")
    made = httpx.post(
        f"{server}/api/v1/auth/signup", json={"email": email, "password": PASSWORD, "name": "Niran"}
    )
    assert made.status_code == 201, made.text
    launch = _telegram_launch(556000000 + uuid.uuid4().int % 100000, "Niran TG")
    page.goto(launch)  # opening the Mini App made a fresh Telegram account
    expect(page.locator("#whoami")).to_have_text("Niran TG")
    page.click("#logout")
    page.click("#tab-login")
    page.fill("#auth-email", email)
    page.fill("#auth-password", PASSWORD)
    page.click("#auth-submit")
    expect(page.locator("#whoami")).to_have_text("Niran")
    expect(page.locator("#link-telegram")).to_be_visible()
    page.click("#link-telegram")
    expect(page.locator("#account-msg")).to_contain_text("Its unused account was joined to this one")
    expect(page.locator("#identities li")).to_have_count(2)
    expect(page.locator("#link-telegram")).to_be_hidden()
    expect(page.locator("#stars")).to_have_text("3")  # one welcome bonus, not two
    page.locator("#account").scroll_into_view_if_needed()
    shot(page, "24-account-telegram-merged")
    # Signed out, opening the Mini App again signs in with Telegram: to the email account now.
    page.click("#logout")
    expect(page.locator("#auth")).to_be_visible()
    page.goto(launch)
    page.reload()  # a change of the fragment alone does not load the page again
    expect(page.locator("#app")).to_be_visible()
    expect(page.locator("#whoami")).to_have_text("Niran")
    expect(page.locator("#identities li")).to_have_count(2)


def test_the_signed_in_name_stays_in_the_header_of_a_narrow_phone_in_thai(page: Page) -> None:
    page.set_viewport_size({"width": 360, "height": 740})
    email = _email("nw")  # 23 letters: room to spare under the desktop cap (14rem), whatever its hex
    _sign_up(page, email)
    page.click("#lang-toggle")
    expect(page.locator("#logout")).to_have_text("ออกจากระบบ")
    width = page.eval_on_selector("#whoami", "e => e.getBoundingClientRect().width")
    assert width >= 150, width  # the Thai words once squeezed it to nothing, then a 7rem cap to 12 letters
    expect(page.locator("#whoami")).to_have_text(email)
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 360
    page.screenshot(path=str(SCREENSHOTS / "36-header-narrow-thai-360.png"), animations="disabled")
    shot(page, "36-header-narrow-thai")
    # The desktop keeps its one-line bar with the whole name.
    page.set_viewport_size({"width": 1280, "height": 800})
    assert _shown_whole(page)
    bar, name = (page.eval_on_selector(s, "e => e.getBoundingClientRect()") for s in (".topbar", "#whoami"))
    assert name["top"] < bar["top"] + bar["height"] / 2 < name["bottom"], (bar, name)  # one line


def _shown_whole(page: Page) -> bool:
    """The name is not cut (its text no wider than its box, give or take a rounded pixel), once the
    layout has followed a viewport change; False if it stays cut."""
    whole = "() => { const e = document.getElementById('whoami'); return e.scrollWidth <= e.clientWidth + 1 }"
    try:
        page.wait_for_function(whole, timeout=5_000)
    except PlaywrightTimeoutError:
        return False
    return True


def test_a_short_sign_in_email_shows_whole_in_the_header_of_a_narrow_phone_in_thai(page: Page) -> None:
    page.set_viewport_size({"width": 360, "height": 740})
    email = f"n{uuid.uuid4().hex[:5]}@example.com"  # wider than the 7rem the name was cut to
    _sign_up(page, email)
    page.click("#lang-toggle")
    expect(page.locator("#logout")).to_have_text("ออกจากระบบ")
    expect(page.locator("#whoami")).to_have_text(email)
    assert _shown_whole(page)
    assert page.eval_on_selector("#whoami", "e => e.getBoundingClientRect().width") > 112  # 7rem
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 360
    page.screenshot(path=str(SCREENSHOTS / "37-header-short-email-thai-360.png"), animations="disabled")
