"""API keys on the account section in Chromium: list, create (the secret shown once), copy, revoke."""

from __future__ import annotations

import uuid

import httpx
from playwright.sync_api import Page, Route, expect

from tests.web.browser import shot

PASSWORD = "correct horse battery"


def _sign_up(page: Page) -> str:
    """Sign up a fresh account on the tarot page; its access token."""
    page.goto("/")
    page.fill("#auth-email", f"keys-{uuid.uuid4().hex[:8]}@example.com")
    page.fill("#auth-password", PASSWORD)
    page.click("#auth-submit")
    expect(page.locator("#app")).to_be_visible()
    expect(page.locator("#api-keys-empty")).to_be_visible()
    token = page.evaluate("localStorage.getItem('conjure.access_token')")
    assert isinstance(token, str)
    return token


def _keys(server: str, token: str) -> list[dict[str, object]]:
    answer = httpx.get(f"{server}/api/v1/auth/api-keys", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200, answer.text
    items: list[dict[str, object]] = answer.json()["items"]
    return items


def _focused(page: Page) -> str:
    """The id, else the text, of the element that has the keyboard focus."""
    found = page.evaluate("document.activeElement.id || document.activeElement.textContent")
    assert isinstance(found, str)
    return found


def test_a_key_is_made_once_shown_once_copied_used_and_revoked(page: Page, server: str) -> None:
    token = _sign_up(page)
    expect(page.locator("#api-keys-empty")).to_have_text("You have no API keys.")
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server)

    # No name, then a name that reads otherwise than it is stored: refused, in words, nothing made.
    page.click("#api-key-create-submit")
    expect(page.locator("#api-keys-msg")).to_have_text(
        "Give the key a name, so that you know later which program uses it."
    )
    page.fill("#api-key-name", "Dao\u202eevil")
    page.click("#api-key-create-submit")
    expect(page.locator("#api-keys-msg")).to_contain_text("characters that change the text's direction")
    assert _keys(server, token) == []
    page.locator("#api-keys-box").scroll_into_view_if_needed()
    shot(page, "29-account-key-name-refused")

    # A double click makes one key: one request, not a second one the server would also answer.
    posts: list[str] = []
    page.on("request", lambda request: posts.append(request.url) if request.method == "POST" else None)
    page.fill("#api-key-name", "Nightly export")
    page.dblclick("#api-key-create-submit")
    expect(page.locator("#api-key-new")).to_be_visible()
    expect(page.locator("#api-key-new")).to_contain_text("you will not see it again")
    expect(page.locator("#api-key-new-title")).to_have_text("Your new key “Nightly export”")
    secret = page.input_value("#api-key-secret")
    made = _keys(server, token)
    assert len(made) == 1, made
    creates = [url for url in posts if url.endswith("/api/v1/auth/api-keys")]
    assert creates == [f"{server}/api/v1/auth/api-keys"]
    assert secret.startswith(f"{made[0]['prefix']}_")
    row = page.locator("#api-keys li")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Nightly export")
    expect(row).to_contain_text(f"{made[0]['prefix']}_…")
    expect(row).to_contain_text("never used")
    expect(page.locator("#api-key-name")).to_have_value("")
    assert secret not in (page.locator("#api-keys").text_content() or "")

    page.click("#api-key-copy")
    expect(page.locator("#api-key-copy")).to_have_text("Copied!")
    assert page.evaluate("navigator.clipboard.readText()") == secret
    page.locator("#api-keys-box").scroll_into_view_if_needed()
    shot(page, "30-account-key-created")

    # The key works; once it has been used, the list says when. After "Done" the secret is gone.
    me = httpx.get(f"{server}/api/v1/me", headers={"Authorization": f"Bearer {secret}"})
    assert me.status_code == 200, me.text
    page.click("#api-key-done")
    expect(page.locator("#api-key-new")).to_be_hidden()
    assert page.input_value("#api-key-secret") == ""
    page.reload()
    expect(page.locator("#api-keys li")).to_contain_text("last used")
    expect(page.locator("#api-key-new")).to_be_hidden()
    assert page.input_value("#api-key-secret") == ""

    # Revoking asks first; Cancel keeps the key.
    page.locator("#api-keys li button", has_text="Revoke").click()
    question = page.locator("#api-keys .confirm")
    expect(question).to_contain_text("Revoke “Nightly export”? Programs using it stop working at once.")
    page.locator("#api-keys-box").scroll_into_view_if_needed()
    shot(page, "31-account-key-revoke-asked")
    question.get_by_role("button", name="Cancel").click()
    expect(question).to_have_count(0)
    assert _keys(server, token)[0]["revoked_at"] is None
    page.locator("#api-keys li button", has_text="Revoke").click()
    question.get_by_role("button", name="Revoke key").click()
    expect(page.locator("#api-keys-msg")).to_have_text(
        "“\u2068Nightly export\u2069” is revoked."
    )  # the name isolated
    expect(page.locator("#api-keys li")).to_contain_text("revoked")
    expect(page.locator("#api-keys li button")).to_have_count(0)
    assert _keys(server, token)[0]["revoked_at"] is not None
    gone = httpx.get(f"{server}/api/v1/me", headers={"Authorization": f"Bearer {secret}"})
    assert gone.status_code == 401
    page.locator("#api-keys-box").scroll_into_view_if_needed()
    shot(page, "32-account-key-revoked")


def test_keys_by_keyboard_alone_in_thai_on_a_phone(page: Page, server: str) -> None:
    token = _sign_up(page)
    page.click("#lang-toggle")
    expect(page.locator("#api-keys-box h3")).to_have_text("คีย์ API")
    page.focus("#api-key-name")
    page.keyboard.type("สคริปต์ของฉัน")
    page.keyboard.press("Enter")
    page.keyboard.press("Enter")  # pressed twice before the answer: still one key
    expect(page.locator("#api-key-new")).to_be_visible()
    expect(page.locator("#api-key-new")).to_contain_text("คุณจะไม่เห็นคีย์นี้อีก")
    assert _focused(page) == "api-key-secret"  # selected, ready to copy
    assert len(_keys(server, token)) == 1
    page.keyboard.press("Tab")
    assert _focused(page) == "api-key-copy"
    page.keyboard.press("Tab")
    assert _focused(page) == "api-key-done"
    page.locator("#api-keys-box").scroll_into_view_if_needed()
    shot(page, "33-account-key-created-thai")
    page.keyboard.press("Enter")
    expect(page.locator("#api-key-new")).to_be_hidden()
    assert _focused(page) == "api-key-name"

    # Revoke: the question takes the focus on its safe answer; Escape backs out, to the same button.
    page.locator("#api-keys li button", has_text="เพิกถอน").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#api-keys .confirm")).to_contain_text("เพิกถอน “สคริปต์ของฉัน” ใช่ไหม")
    assert _focused(page) == "ยกเลิก"
    page.keyboard.press("Escape")
    expect(page.locator("#api-keys .confirm")).to_have_count(0)
    assert _focused(page) == "เพิกถอน"
    page.keyboard.press("Enter")
    page.keyboard.press("Shift+Tab")
    assert _focused(page) == "เพิกถอนคีย์"
    page.keyboard.press("Enter")
    expect(page.locator("#api-keys-msg")).to_have_text("เพิกถอน “\u2068สคริปต์ของฉัน\u2069” แล้ว")
    expect(page.locator("#api-keys li")).to_contain_text("เพิกถอนเมื่อ")
    assert _keys(server, token)[0]["revoked_at"] is not None
    # Nothing is wider than the phone.
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.locator("#api-keys-box").scroll_into_view_if_needed()
    shot(page, "34-account-key-revoked-thai")


def test_many_keys_come_a_page_at_a_time(page: Page, server: str) -> None:
    token = _sign_up(page)
    auth = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=server, headers=auth) as client:
        for n in range(51):
            made = client.post("/api/v1/auth/api-keys", json={"name": f"key {n:02}"})
            assert made.status_code == 201, made.text
    page.reload()
    rows = page.locator("#api-keys li")
    expect(rows).to_have_count(50)
    expect(rows.first).to_contain_text("key 50")  # newest first
    page.click("#api-keys-more")
    expect(rows).to_have_count(51)
    expect(rows.last).to_contain_text("key 00")
    expect(page.locator("#api-keys-more")).to_be_hidden()


def test_signing_out_takes_a_new_keys_secret_off_the_page(page: Page, server: str) -> None:
    _sign_up(page)
    page.fill("#api-key-name", "Left on screen")
    page.click("#api-key-create-submit")
    expect(page.locator("#api-key-new")).to_be_visible()
    secret = page.input_value("#api-key-secret")
    page.click("#logout")  # without pressing Done
    expect(page.locator("#auth")).to_be_visible()
    assert page.input_value("#api-key-secret") == ""
    # Whoever signs in next on this screen (no reload) sees their own keys, none of the last session's.
    page.fill("#auth-email", f"next-{uuid.uuid4().hex[:8]}@example.com")
    page.fill("#auth-password", PASSWORD)
    page.click("#auth-submit")
    expect(page.locator("#api-keys-empty")).to_be_visible()
    expect(page.locator("#api-key-new")).to_be_hidden()
    expect(page.locator("#api-keys li")).to_have_count(0)
    assert page.input_value("#api-key-secret") == ""
    assert secret not in (page.locator("#account").text_content() or "")


def test_a_key_made_as_its_person_signs_out_is_not_shown_to_the_next(page: Page, server: str) -> None:
    _sign_up(page)
    held: list[Route] = []
    page.route(
        "**/api/v1/auth/api-keys",
        lambda route: held.append(route) if route.request.method == "POST" else route.continue_(),
    )
    page.fill("#api-key-name", "Made while leaving")
    page.click("#api-key-create-submit")
    expect(page.locator("#api-key-create-submit")).to_be_disabled()
    page.click("#logout")  # before the server has answered
    expect(page.locator("#auth")).to_be_visible()
    assert len(held) == 1
    held[0].continue_()  # the key is made (the request carried the old session's token)
    expect(page.locator("#api-key-create-submit")).to_be_enabled()  # its answer has been taken in
    assert page.input_value("#api-key-secret") == ""
    page.fill("#auth-email", f"next-{uuid.uuid4().hex[:8]}@example.com")
    page.fill("#auth-password", PASSWORD)
    page.click("#auth-submit")
    expect(page.locator("#api-keys-empty")).to_be_visible()
    expect(page.locator("#api-key-new")).to_be_hidden()
    assert page.input_value("#api-key-secret") == ""
    assert "Made while leaving" not in (page.locator("#account").text_content() or "")


def test_a_key_name_with_html_is_shown_as_text(page: Page, server: str) -> None:
    token = _sign_up(page)
    name = '<img src=x onerror="window.pwned=1"><b>bold</b>'
    made = httpx.post(
        f"{server}/api/v1/auth/api-keys", json={"name": name}, headers={"Authorization": f"Bearer {token}"}
    )
    assert made.status_code == 201, made.text
    page.reload()
    row = page.locator("#api-keys li")
    expect(row).to_contain_text(name)
    page.locator("#api-keys li button", has_text="Revoke").click()
    expect(page.locator("#api-keys .confirm")).to_contain_text(f"Revoke “{name}”?")
    assert page.locator("#api-keys img, #api-keys b").count() == 0
    assert page.evaluate("window.pwned") is None
