"""PixelPop's Mini App at /pixelpop, in headless Chromium at a phone's size against ``conjure up``.

Inside Telegram (a ``Telegram.WebApp`` stand-in carrying initData signed with the server's bot
token) and in a plain browser: sign in, make an image with the offline provider, see it, find it
in the gallery, keep it, and ask to buy credits.
"""

from __future__ import annotations

import itertools
import json
import re
import time
import uuid
from typing import Any

import httpx
from playwright.sync_api import Page, Request, Route, expect

from tests.payments.stripe_server import FakeStripe
from tests.web.browser import BOT_TOKEN, shot
from tests.web.telegram_standin import telegram_standin
from tests.web.test_pages import FAKE_STRIPE_JS, PASSWORD, PAYMENTS_OFF

FOX = "A red fox curled up in fresh snow, soft morning light"


def calls(page: Page) -> list[list[Any]]:
    """What the page asked of the Telegram stand-in, in order."""
    result: list[list[Any]] = page.evaluate("Telegram.WebApp.__calls")
    return result


def main_button(page: Page) -> dict[str, Any]:
    state: dict[str, Any] = page.evaluate(
        "(() => { const b = Telegram.WebApp.MainButton; return"
        " { text: b.text, visible: b.isVisible, active: b.isActive, progress: b.isProgressVisible }; })()"
    )
    return state


def test_inside_telegram_sign_in_generate_see_it_and_find_it_in_the_gallery(page: Page, server: str) -> None:
    user = {"id": 7_000_000 + uuid.uuid4().int % 1_000_000, "first_name": "Mali", "language_code": "en"}
    page.context.add_init_script(telegram_standin(BOT_TOKEN, user))
    polls: list[float] = []

    def on_request(request: Request) -> None:
        if re.search(r"/api/generation/[0-9a-f-]{36}$", request.url):
            polls.append(time.monotonic())

    response = page.goto("/pixelpop")
    assert response is not None
    assert "'unsafe-inline'" not in response.headers["content-security-policy"]
    # Signed in from initData alone: no form, the sign-up bonus as credits.
    expect(page.locator("#app")).to_be_visible()
    expect(page.locator("#auth")).to_be_hidden()
    expect(page.locator("#credits")).to_have_text("3")
    expect(page.locator("#logout")).to_be_hidden()
    done = calls(page)
    assert ["ready"] in done
    assert ["expand"] in done
    # The chat's light theme, although the browser prefers dark.
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(255, 255, 255)"
    assert (
        page.evaluate("getComputedStyle(document.querySelector('.panel')).backgroundColor")
        == "rgb(240, 240, 244)"
    )
    # Telegram's main button does the generating; the page's own button stays out of the way.
    expect(page.locator("#generate")).to_be_hidden()
    assert main_button(page) == {
        "text": "Generate · 1 ★",
        "visible": True,
        "active": False,
        "progress": False,
    }
    shot(page, "20-pixelpop-telegram-signed-in")

    page.fill("#prompt", FOX)
    page.click("label.size:has(input[value='1024x1536'])")
    assert main_button(page)["active"] is True
    page.on("request", on_request)
    page.evaluate("Telegram.WebApp.MainButton.__tap()")
    expect(page.locator("#result")).to_be_visible()
    expect(page.locator("#gen-steps li.active")).to_have_count(1)
    assert main_button(page)["progress"] is True
    assert ["closingConfirmation", True] in calls(page)  # a swipe mid-generation asks first
    shot(page, "21-pixelpop-generating")

    image = page.locator("#image")
    expect(image).to_be_visible(timeout=20_000)
    expect(page.locator("#gen-steps li[data-step=completed]")).to_have_class("done")
    size = image.evaluate("img => [img.naturalWidth, img.naturalHeight]")
    assert size == [1024, 1536]  # the portrait size that was chosen
    expect(page.locator("#result-prompt")).to_have_text(f"“{FOX}”")
    expect(page.locator("#result-note")).to_contain_text("Preview image")
    assert ["haptic.notify", "success"] in calls(page)
    assert main_button(page)["text"] == "Generate another · 1 ★"
    assert page.evaluate("Telegram.WebApp.isClosingConfirmationEnabled") is False
    # Polled once a second (seed 004), not in a tight loop.
    assert polls, "the page never polled GET /api/generation/{id}"
    assert all(b - a >= 0.8 for a, b in itertools.pairwise(polls)), polls

    # The same image is first in the gallery, the star was taken.
    token = page.evaluate("localStorage.getItem('conjure.access_token')")
    gallery = httpx.get(f"{server}/api/generations", headers={"Authorization": f"Bearer {token}"}).json()
    newest = gallery["items"][0]
    assert newest["prompt"] == FOX
    assert newest["size"] == "1024x1536"
    expect(page.locator("#gallery .thumb")).to_have_count(1)
    expect(page.locator("#gallery .thumb").first).to_have_attribute("data-job-id", newest["job_id"])
    expect(page.locator("#credits")).to_have_text("2")
    shot(page, "22-pixelpop-done")

    # Keeping it: Telegram's own download (Bot API 8.0) and share sheet.
    page.click("#download")
    page.click("#share")
    kept = calls(page)
    download = next(c for c in kept if c[0] == "downloadFile")
    assert "/files/generations/" in download[1]
    assert download[2].startswith("pixelpop-")
    share = next(c for c in kept if c[0] == "openTelegramLink")
    assert share[1].startswith("https://t.me/share/url?url=")

    # Opening it from the gallery shows Telegram's back button, which returns to the prompt.
    page.click("#again")
    expect(page.locator("#result")).to_be_hidden()
    page.locator("#gallery .thumb").first.click()
    expect(page.locator("#result-title")).to_have_text("From your gallery")
    expect(image).to_be_visible()
    assert page.evaluate("Telegram.WebApp.BackButton.isVisible") is True
    shot(page, "23-pixelpop-from-gallery")
    page.evaluate("Telegram.WebApp.BackButton.__tap()")
    expect(page.locator("#result")).to_be_hidden()
    assert page.evaluate("Telegram.WebApp.BackButton.isVisible") is False


def test_telegram_language_and_payments_off_speak_to_people(page: Page) -> None:
    user = {"id": 8_000_000 + uuid.uuid4().int % 1_000_000, "first_name": "Somchai", "language_code": "th"}
    page.context.add_init_script(telegram_standin(BOT_TOKEN, user))
    page.route(
        "**/api/v1/payment/create-intent",
        lambda route: route.fulfill(
            status=503, content_type="application/problem+json", body=json.dumps(PAYMENTS_OFF)
        ),
    )
    page.goto("/pixelpop")
    expect(page.locator("#app")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "th")  # from Telegram's language_code
    expect(page.locator("#create h2")).to_have_text("บรรยายภาพที่อยากได้")
    assert main_button(page)["text"] == "สร้างภาพ · 1 ★"
    page.click("#packages button[data-package=starter]")
    message = page.locator("#buy-msg")
    expect(message).to_have_text("ยังซื้อเครดิตไม่ได้ในตอนนี้ แวะกลับมาใหม่เร็ว ๆ นี้")
    expect(message).to_have_class("notice info")
    shot(page, "24-pixelpop-thai-payments-off")


def test_badly_signed_init_data_is_explained_and_email_still_works(page: Page) -> None:
    user = {"id": 9_000_001, "first_name": "Eve"}
    page.context.add_init_script(telegram_standin("999:not-the-bot-token", user))
    page.goto("/pixelpop")
    expect(page.locator("#notice")).to_have_text(
        "Telegram could not confirm who you are. Close the app and open it again from the bot."
    )
    expect(page.locator("#auth")).to_be_visible()
    assert ["haptic.notify", "error"] in calls(page)


def test_in_a_plain_browser_sign_up_by_email_and_generate(page: Page) -> None:
    page.goto("/pixelpop")
    auth = page.locator("#auth")
    expect(auth).to_be_visible()
    expect(auth).to_contain_text("open it from our bot's button")
    shot(page, "25-pixelpop-browser-signed-out")
    page.fill("#auth-email", f"pixel-{uuid.uuid4().hex[:8]}@example.com")
    page.fill("#auth-password", PASSWORD)
    page.click("#auth-submit")
    expect(page.locator("#app")).to_be_visible()
    expect(page.locator("#credits")).to_have_text("3")

    generate = page.locator("#generate")
    expect(generate).to_be_disabled()
    page.fill("#prompt", "ok")
    expect(page.locator("#prompt-hint")).to_contain_text("at least 3 characters")
    page.fill("#prompt", "A lighthouse on a cliff at dusk")
    page.click("label.size:has(input[value='1536x1024'])")
    generate.click()
    image = page.locator("#image")
    expect(image).to_be_visible(timeout=20_000)
    assert image.evaluate("img => [img.naturalWidth, img.naturalHeight]") == [1536, 1024]
    expect(page.locator("#gallery .thumb")).to_have_count(1)
    expect(page.locator("#credits")).to_have_text("2")
    expect(page.locator("#download")).to_have_attribute("href", re.compile(r"/files/generations/.+\.png\?"))
    shot(page, "26-pixelpop-browser-done")


def test_buying_credits_with_stripe_elements(page: Page, stripe: FakeStripe) -> None:
    page.route(
        "https://js.stripe.com/v3/",
        lambda route: route.fulfill(content_type="text/javascript", body=FAKE_STRIPE_JS),
    )
    page.goto("/pixelpop")
    page.fill("#auth-email", f"buyer-{uuid.uuid4().hex[:8]}@example.com")
    page.fill("#auth-password", PASSWORD)
    page.click("#auth-submit")
    expect(page.locator("#credits")).to_have_text("3")
    # What a package gives in all (30 + 3 = 33, what the wallet gets below) and its bonus, as on tarot.
    popular = page.locator("#packages li:has(button[data-package=popular])")
    expect(popular).to_contain_text("★ 33")
    expect(popular.locator(".bonus")).to_have_text("+3 bonus")
    page.click("#packages button[data-package=popular]")
    expect(page.locator("#payment-element .fake-payment-element")).to_have_text("payment")
    expect(page.locator("#pay-submit")).to_contain_text("249")
    intent_id = page.evaluate("window.__stripe.clientSecret").split("_secret_")[0]
    assert stripe.intent(intent_id)["amount"] == 24_900
    shot(page, "27-pixelpop-buy")
    stripe.set_status(intent_id, "succeeded")
    page.click("#pay-submit")
    expect(page.locator("#buy-msg")).to_have_text("Thank you! 33 ★ added.")
    expect(page.locator("#credits")).to_have_text("36")
    expect(page.locator("#credits-big")).to_have_text("36")


def test_a_picture_that_does_not_load_says_why_and_can_be_retried(page: Page) -> None:
    """A load error is "expired" only when the signed link's time ran out; otherwise a neutral
    message and a retry that loads it again."""
    page.goto("/pixelpop")
    page.fill("#auth-email", f"pixel-{uuid.uuid4().hex[:8]}@example.com")
    page.fill("#auth-password", PASSWORD)
    page.click("#auth-submit")
    expect(page.locator("#app")).to_be_visible()
    files = re.compile(r"/files/generations/")
    failures: list[str] = []

    def first_load_fails(route: Route) -> None:
        if not failures:
            failures.append(route.request.url)
            route.fulfill(status=503, body="busy")
        else:
            route.fallback()

    page.route(files, first_load_fails)
    page.fill("#prompt", "A lighthouse on a cliff at dusk")
    page.click("#generate")
    error = page.locator("#gen-error")
    expect(error).to_have_text("The picture could not be loaded.", timeout=20_000)
    retry = page.locator("#image-retry")
    expect(retry).to_be_visible()
    shot(page, "29-pixelpop-load-failed")
    retry.click()
    expect(page.locator("#image")).to_be_visible()
    expect(error).to_be_hidden()
    expect(retry).to_be_hidden()
    assert len(failures) == 1
    page.unroute(files)

    # A gallery link whose time ran out (exp in the past: the file server refuses it).
    def stale_links(route: Route) -> None:
        body = route.fetch().json()
        for item in body["items"]:
            item["image_url"] = re.sub(r"exp=\d+", "exp=1000000000", item["image_url"])
        route.fulfill(json=body)

    page.route(re.compile(r"/api/generations\?"), stale_links)
    page.reload()
    expect(page.locator("#gallery .thumb")).to_have_count(1)
    page.locator("#gallery .thumb").first.click()
    expect(error).to_have_text("This link has expired; reopen the picture from your gallery.")
    expect(retry).to_be_hidden()
    shot(page, "30-pixelpop-link-expired")
    page.unroute_all(behavior="ignoreErrors")  # a handler still fetching as the page closes
