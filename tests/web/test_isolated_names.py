"""Names stored before sign-up and key names refused direction-changing characters (U+202E) show
isolated, so they cannot reorder the text around them; the confirm question's words are shared by
every page, not only the account section's."""

from __future__ import annotations

import sqlite3
import uuid
from pathlib import Path

import httpx
from playwright.sync_api import Page, expect

from tests.web.browser import shot
from tests.web.test_account_keys_page import _sign_up

KEY_NAME = "Dao\u202eevil"
PERSON = "Mali\u202eevil"

# Where (top, left) a word of the revoke question shows: in its first text node holding it.
LEFT_OF = """([root, word]) => {
  const walker = document.createTreeWalker(document.querySelector(root), NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const at = node.data.indexOf(word);
    if (at < 0) continue;
    const range = document.createRange();
    range.setStart(node, at);
    range.setEnd(node, at + word.length);
    const box = range.getBoundingClientRect();
    return [box.top, box.left];
  }
  return null;
}"""


def _as_stored_before(var: Path, table: str, column: str, value: str, where: str, was: str) -> None:
    """Write ``value`` straight into the server's database, as a row from before the checks holds it."""
    with sqlite3.connect(var / "conjure.db") as db:
        changed = db.execute(f"UPDATE {table} SET {column} = ? WHERE {where} = ?", (value, was)).rowcount
    assert changed == 1


def test_names_with_a_right_to_left_override_stored_earlier_show_isolated(
    page: Page, server: str, server_var: Path
) -> None:
    token = _sign_up(page)
    email = httpx.get(f"{server}/api/v1/me", headers={"Authorization": f"Bearer {token}"}).json()["email"]
    placeholder = f"key-{uuid.uuid4().hex[:8]}"
    made = httpx.post(
        f"{server}/api/v1/auth/api-keys",
        json={"name": placeholder},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert made.status_code == 201, made.text
    _as_stored_before(server_var, "api_keys", "name", KEY_NAME, "name", placeholder)
    _as_stored_before(server_var, "users", "name", PERSON, "email", email)
    page.reload()

    # The header and the key's row hold each name in an isolate of its own.
    expect(page.locator("#whoami bdi")).to_have_text(PERSON)
    expect(page.locator("#api-keys li .key-name bdi")).to_have_text(KEY_NAME)
    isolation = page.evaluate("getComputedStyle(document.querySelector('#whoami bdi')).unicodeBidi")
    assert isolation == "isolate"

    # The revoke question reads left to right around the name: its end is not drawn backwards.
    page.locator("#api-keys li button", has_text="Revoke").click()
    question = page.locator("#api-keys .confirm-question")
    expect(question.locator("bdi")).to_have_text(KEY_NAME)
    at = {w: page.evaluate(LEFT_OF, ["#api-keys .confirm-question", w]) for w in ("Programs", "using")}
    assert None not in at.values(), at
    (top, programs), (same_line, using) = at["Programs"], at["using"]
    assert (top, programs < using) == (same_line, True), at  # drawn backwards: "gnisu smargorP"
    page.locator("#api-keys-box").scroll_into_view_if_needed()
    shot(page, "35-account-key-old-name-isolated")
    page.locator("#api-keys .confirm").get_by_role("button", name="Revoke key").click()
    revoked = page.locator("#api-keys-msg")
    expect(revoked).to_have_text(f"“\u2068{KEY_NAME}\u2069” is revoked.")


def test_the_confirm_questions_cancel_has_its_words_on_a_page_without_the_account_section(page: Page) -> None:
    page.goto("/pixelpop")
    cancel = page.evaluate(
        """async () => {
          const { askFirst } = await import("/static/confirm.js");
          const anchor = document.createElement("button");
          document.body.append(anchor);
          askFirst(anchor, { question: "Sure?", yes: "Yes" });
          return document.querySelector(".confirm button.secondary").textContent;
        }"""
    )
    assert cancel == "Cancel"
