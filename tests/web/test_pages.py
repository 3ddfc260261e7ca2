"""End to end in headless Chromium against ``conjure up``: the tarot page and the operator console."""

from __future__ import annotations

import itertools
import json
import re
import time
import uuid
from pathlib import Path
from urllib.parse import quote, urlencode

import httpx
from playwright.sync_api import Page, expect

from conjure.auth.telegram import sign
from tests.payments.stripe_server import FakeStripe
from tests.web.browser import ADMIN_EMAIL, BOT_TOKEN, STRIPE_PUBLISHABLE_KEY, shot

PASSWORD = "correct horse battery"

# Stands in for https://js.stripe.com/v3/ (no internet here): the same calls the page makes on
# Stripe.js, recording what it was given; Stripe's API side is the loopback FakeStripe.
FAKE_STRIPE_JS = """
window.Stripe = (key) => {
  window.__stripe = { key };
  return {
    elements(options) {
      window.__stripe.clientSecret = options.clientSecret;
      return { create: (kind) => ({ mount(selector) {
        const el = document.createElement("div");
        el.className = "fake-payment-element";
        el.textContent = kind;
        document.querySelector(selector).append(el);
      } }) };
    },
    async confirmPayment({ redirect }) {
      window.__stripe.redirect = redirect;
      const id = window.__stripe.clientSecret.split("_secret_")[0];
      return { paymentIntent: { id, status: "succeeded" } };
    },
  };
};
"""
# What the payments router answers when STRIPE_API_KEY is unset (tests/payments checks the server side).
PAYMENTS_OFF = {
    "type": "https://conjure.dev/problems/payments_not_configured",
    "title": "Service Unavailable",
    "status": 503,
    "detail": "Payments are not configured: set STRIPE_API_KEY (and STRIPE_WEBHOOK_SECRET for webhooks).",
    "code": "payments_not_configured",
}


def _email(tag: str) -> str:
    return f"{tag}-{uuid.uuid4().hex[:8]}@example.com"


def sign_up(page: Page, email: str, *, invite: str | None = None) -> None:
    page.goto(f"/?invite={invite}" if invite else "/")
    page.fill("#auth-email", email)
    page.fill("#auth-password", PASSWORD)
    page.click("#auth-submit")
    expect(page.locator("#app")).to_be_visible()
    expect(page.locator("#stars")).to_have_text("3")


def ask(page: Page, question: str) -> None:
    page.fill("#question", question)
    expect(page.locator("#ask-submit")).to_be_enabled()
    page.click("#ask-submit")


# Records when each step and each card changes class, so a test can see the pacing a person sees.
TIMELINE_JS = """
window.__timeline = [];
new MutationObserver((records) => {
  for (const r of records) {
    const el = r.target;
    if (el.matches?.("#steps li")) {
      window.__timeline.push(["step", el.dataset.step, el.className, performance.now()]);
    }
    if (el.matches?.("#cards .card") && el.classList.contains("flipped") && !el.dataset.seen) {
      el.dataset.seen = "1";
      window.__timeline.push(["flip", el.dataset.cardId, "", performance.now()]);
    }
  }
}).observe(document, { subtree: true, attributes: true, attributeFilter: ["class"] });
"""


def test_sign_up_read_and_pay_one_star(page: Page, server: str) -> None:
    response = page.goto("/")
    assert response is not None
    csp = response.headers["content-security-policy"]
    assert "script-src 'self' https://js.stripe.com" in csp
    assert "https://telegram.org" in csp
    assert "'unsafe-inline'" not in csp
    shot(page, "01-signup")

    sign_up(page, _email("reader"))
    expect(page.locator("#invite-code")).to_have_text(re.compile(r"^[A-Z0-9]{6,}$"))
    expect(page.locator("#invite-link")).to_have_value(re.compile(r"\?invite=[A-Z0-9]{6,}$"))

    # The 8-180 rule is shown live, before anything is sent.
    page.fill("#question", "Why?")
    expect(page.locator("#question-hint")).to_contain_text("at least 8 characters")
    expect(page.locator("#ask-submit")).to_be_disabled()
    page.fill("#question", "x" * 181)
    expect(page.locator("#question-hint")).to_contain_text("at most 180")
    expect(page.locator("#ask-submit")).to_be_disabled()

    page.add_init_script(TIMELINE_JS)
    page.reload()
    expect(page.locator("#app")).to_be_visible()
    with page.expect_response(lambda r: r.url.endswith("/events")) as streamed:
        ask(page, "What should I focus on in my career this month?")
    assert streamed.value.status == 200
    assert streamed.value.headers["content-type"].startswith("text/event-stream")
    # On a phone the reading starts below the question box: the page brings it into view.
    page.wait_for_function(
        "() => { const r = document.getElementById('reading').getBoundingClientRect();"
        " return r.top >= 0 && r.top < window.innerHeight / 2; }"
    )
    expect(page.locator("#steps li.active")).to_have_count(1)  # a step in progress, not all ticked at once
    shot(page, "02a-reading-in-progress")
    expect(page.locator("#steps li[data-step=done]")).to_have_class("done", timeout=30_000)
    expect(page.locator("#history .history-item")).to_have_count(1)
    cards = page.locator("#cards .card")
    expect(cards.first).to_be_visible()
    assert cards.count() in (3, 5)
    # What the page shows is what the API stored: names, orientations and positions, in order.
    token = page.evaluate("localStorage.getItem('conjure.access_token')")
    job_id = page.locator("#history .history-item").first.get_attribute("data-job-id")
    stored = httpx.get(
        f"{server}/api/v1/reading/{job_id}", headers={"Authorization": f"Bearer {token}"}
    ).json()
    expected = stored["result"]["cards"]
    expect(cards.locator(".card-name")).to_have_text([c["name"] for c in expected])
    expect(cards.locator(".card-orientation")).to_have_text([c["orientation"].capitalize() for c in expected])
    expect(cards.locator(".card-position")).to_have_text([c["position_label"] for c in expected])
    expect(page.locator("#reading-text")).to_be_visible()
    assert len(page.locator("#reading-text").inner_text()) > 100
    for step in ("queued", "filtering", "analyzing", "drawing", "reading"):
        expect(page.locator(f"#steps li[data-step={step}]")).to_have_class("done")

    # Each card has a drawn face; reversed faces are upside down.
    for i, card in enumerate(expected):
        face = cards.nth(i).locator(".card-front svg")
        expect(face.locator("rect").first).to_be_attached()
        transform = face.evaluate("el => getComputedStyle(el).transform")
        assert (transform.startswith("matrix(-1")) == (card["orientation"] == "reversed"), transform
        expect(cards.nth(i)).to_have_class(re.compile(r"\bflipped\b"))
    # Paced: steps became active one after another, and the cards turned over one by one.
    timeline = page.evaluate("window.__timeline")
    active = [(step, at) for kind, step, cls, at in timeline if kind == "step" and cls == "active"]
    assert [step for step, _ in active][:4] == ["queued", "filtering", "analyzing", "drawing"], active
    assert all(b - a >= 400 for (_, a), (_, b) in itertools.pairwise(active)), active
    flips = [at for kind, _, _, at in timeline if kind == "flip"]
    assert len(flips) == len(expected)
    assert all(b - a >= 500 for a, b in itertools.pairwise(flips)), flips

    # The held star was captured: 3 - 1, nothing held.
    # Both numbers from one wallet read (mid-reading the page shows 2 available with 1 held).
    page.wait_for_function(
        "() => document.getElementById('stars').textContent === '2'"
        " && document.getElementById('held').textContent === '0'"
    )
    expect(page.locator("#history .history-item")).to_have_count(1)
    expect(page.locator("#history .history-item")).to_contain_text("career this month")
    shot(page, "02-reading")

    page.click("#ledger-box summary")
    expect(page.locator("#ledger li").first.locator(".tx-type")).to_have_text("Paid")
    expect(page.locator("#ledger")).not_to_contain_text("capture")

    # Exchanging coins we do not have shows the problem's detail.
    page.click("#exchange-submit")
    expect(page.locator("#exchange-msg")).to_have_text("You do not have enough coins for that exchange.")
    expect(page.locator("#exchange-msg")).to_have_class("notice error")
    shot(page, "03-wallet-invite-buy")


def test_rejected_question_shows_reason_and_releases_the_star(page: Page) -> None:
    sign_up(page, _email("rejected"))
    ask(page, "Should I stalk my ex this weekend?")
    # People's words first; the filter's own reason (written for the asker) after it.
    expect(page.locator("#reading-error")).to_contain_text(
        "The cards cannot answer this question, so nothing was charged."
    )
    assert len(page.locator("#reading-error").inner_text()) > 70
    expect(page.locator("#steps li.failed")).to_have_count(1)
    expect(page.locator("#cards .card")).to_have_count(0)
    page.wait_for_function(
        "() => document.getElementById('stars').textContent === '3'"
        " && document.getElementById('held').textContent === '0'"
    )
    page.click("#ledger-box summary")
    expect(page.locator("#ledger li").first.locator(".tx-type")).to_have_text("Returned")
    shot(page, "04-rejected")


def test_invite_link_prefills_and_rewards_and_thai_toggle(page: Page, server: str) -> None:
    inviter = httpx.post(
        f"{server}/api/v1/auth/signup", json={"email": _email("inviter"), "password": PASSWORD}
    ).json()
    code = inviter["user"]["invite_code"]
    page.goto(f"/?invite={code}")
    expect(page.locator("#auth-invite")).to_have_value(code)
    page.click("#lang-toggle")
    expect(page.locator("#auth-submit")).to_have_text("สร้างบัญชี")
    expect(page.locator("html")).to_have_attribute("lang", "th")
    page.fill("#auth-email", _email("invitee"))
    page.fill("#auth-password", PASSWORD)
    page.click("#auth-submit")
    expect(page.locator("#app")).to_be_visible()
    expect(page.locator("#coins")).to_have_text("5")  # INVITE_REWARD_COINS_INVITEE
    expect(page.locator("#ask-submit")).to_have_text("เปิดไพ่")
    page.fill("#question", "งานใหม่จะเป็นอย่างไร")  # 19 characters: short in bytes, fine in characters
    expect(page.locator("#question-hint")).to_have_text("พร้อมถามแล้ว")
    me = httpx.get(
        f"{server}/api/v1/user/wallet", headers={"Authorization": f"Bearer {inviter['access_token']}"}
    ).json()
    assert me["total_invites"] == 1

    # A whole reading in Thai: card names, positions, orientations, tags are all Thai words.
    page.click("#ask-submit")
    expect(page.locator("#steps li[data-step=done]")).to_have_class("done", timeout=30_000)
    expect(page.locator("#reading-status")).to_have_text("คำทำนายของคุณพร้อมแล้ว")
    token = page.evaluate("localStorage.getItem('conjure.access_token')")
    job_id = page.locator("#history .history-item").first.get_attribute("data-job-id")
    stored = httpx.get(
        f"{server}/api/v1/reading/{job_id}", headers={"Authorization": f"Bearer {token}"}
    ).json()
    cards = stored["result"]["cards"]
    expect(page.locator("#cards .card-name")).to_have_text([c["name_th"] for c in cards])
    expect(page.locator("#cards .card-position")).to_have_text([c["position_label_th"] for c in cards])
    latin = re.compile(r"[A-Za-z_]")
    captions = "\n".join(page.locator("#cards .card-caption").all_inner_texts())
    assert not latin.search(captions), captions  # no English meanings, no raw tags
    chips = page.locator("#analysis").inner_text()
    assert chips
    assert not latin.search(chips), chips  # e.g. ช่วงเวลา: ไม่ระบุเวลา, not "unspecified"
    expect(page.locator("#history .badge").first).to_have_text("เสร็จแล้ว")
    shot(page, "05-thai-reading")

    # Switching back to English relabels the reading already on screen.
    page.click("#lang-toggle")
    expect(page.locator("#cards .card-name")).to_have_text([c["name"] for c in cards])
    expect(page.locator("#analysis")).to_contain_text("Topic:")


def test_errors_read_as_words_for_people(page: Page) -> None:
    page.goto("/")
    page.fill("#auth-email", "not-an-email")
    page.fill("#auth-password", "short")
    page.click("#auth-submit")
    notice = page.locator("#notice")
    expect(notice).to_have_text("Enter a valid email address. The password needs at least 8 characters.")
    for developer_words in ("String should", "Invalid input", "value is not"):
        expect(notice).not_to_contain_text(developer_words)
    shot(page, "10-signup-error")
    page.click("#tab-login")
    page.fill("#auth-email", "nobody@example.com")
    page.fill("#auth-password", PASSWORD)
    page.click("#auth-submit")
    expect(notice).to_have_text("That email and password do not match an account.")


def test_telegram_mini_app_logs_in_with_init_data(page: Page) -> None:
    fields = {
        "auth_date": str(int(time.time())),
        "query_id": "AAH-test",
        "user": json.dumps({"id": 987654321, "first_name": "Mali", "username": "mali"}),
    }
    init_data = urlencode({**fields, "hash": sign(fields, BOT_TOKEN)})
    page.goto(f"/#tgWebAppData={quote(init_data)}&tgWebAppVersion=7.0&tgWebAppPlatform=android")
    expect(page.locator("#app")).to_be_visible()
    expect(page.locator("#whoami")).to_have_text("Mali")
    expect(page.locator("#stars")).to_have_text("3")


def _assert_topbar_inset(page: Page) -> None:
    """On a phone the top bar keeps all of it inside: "Log out" as far from the right edge as the
    brand from the left, the signed-in email shown, nothing scrolled out of the bar."""
    bar = page.locator(".topbar")
    expect(page.locator("#whoami")).to_have_text(ADMIN_EMAIL)
    assert bar.evaluate("el => el.scrollWidth <= el.clientWidth")
    width = page.viewport_size["width"] if page.viewport_size else 0
    brand, logout, who = (page.locator(s).bounding_box() for s in (".topbar .brand", "#logout", "#whoami"))
    assert brand is not None
    assert logout is not None
    assert who is not None
    assert brand["x"] >= 15
    assert abs((width - logout["x"] - logout["width"]) - brand["x"]) <= 1, (brand, logout, width)
    assert who["width"] > 40  # not squeezed to nothing


def test_admin_console_lists_the_job_and_refuses_non_admins(page: Page, server: str) -> None:
    admin = httpx.post(f"{server}/api/v1/auth/signup", json={"email": ADMIN_EMAIL, "password": PASSWORD})
    assert admin.status_code == 201, admin.text
    token = admin.json()["access_token"]
    job = httpx.post(
        f"{server}/api/v1/tarot/read",
        json={"question": "Will the new shop do well this year?"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert job.status_code == 202, job.text
    job_id = job.json()["job_id"]

    # Two sign-ups with the admin's invite code: the second is a burst, flagged for the console.
    code = admin.json()["user"]["invite_code"]
    user = httpx.post(
        f"{server}/api/v1/auth/signup",
        json={"email": _email("plain"), "password": PASSWORD, "invite_code": code},
    )
    invitee = {"email": _email("invitee"), "password": PASSWORD, "invite_code": code}
    assert httpx.post(f"{server}/api/v1/auth/signup", json=invitee).status_code == 201

    # A signed-in non-admin gets the 403 problem's message, not a blank page.
    page.goto("/admin")
    page.fill("#login-email", user.json()["user"]["email"])
    page.fill("#login-password", PASSWORD)
    page.click("#login-form button[type=submit]")
    expect(page.locator("#notice")).to_contain_text("This needs the admin role.")
    expect(page.locator("#console")).to_be_hidden()
    shot(page, "06-admin-forbidden")

    page.click("#logout")
    page.fill("#login-email", ADMIN_EMAIL)
    page.fill("#login-password", PASSWORD)
    page.click("#login-form button[type=submit]")
    row = page.locator(f"#jobs tr[data-job-id='{job_id}']")
    expect(row).to_be_visible()
    expect(row).to_contain_text("tarot")
    expect(row.locator(".badge")).to_have_text("succeeded", timeout=20_000)
    expect(page.locator(".stat[data-stat=queue_depth] .value")).to_have_text("0")
    expect(page.locator(".stat[data-stat=in_flight]")).to_be_visible()
    # The way back to the site reads as a word, not a bare "/".
    expect(page.locator(".topbar a[href='/']")).to_have_text("Home")
    _assert_topbar_inset(page)
    expect(page.locator("#dlq")).to_contain_text("The DLQ is empty.")
    flagged = page.locator(f"#flagged tr[data-inviter-id='{admin.json()['user']['id']}']")
    expect(flagged).to_contain_text(ADMIN_EMAIL)
    expect(flagged).to_contain_text("Burst")

    # The user cell opens that user's wallet and ledger.
    row.locator("td button").click()
    expect(page.locator("#wallet-result")).to_be_visible()
    expect(page.locator(".stat[data-stat=star_balance] .value")).to_have_text("2")
    expect(page.locator("#ledger")).to_contain_text("capture")
    shot(page, "07-admin")

    # The chart draws every series; the kinds table lists tarot with its price.
    expect(page.locator("#chart polyline[data-series=succeeded]")).to_have_count(1)
    expect(page.locator("#kinds tr[data-kind='tarot.reading']")).to_contain_text("1 ★")
    # Usage and cost: today's stars earned make one revenue bar (offline models cost nothing), and
    # the same report downloads as CSV.
    expect(page.locator("#usage-chart rect.bar.revenue")).to_have_count(1)
    expect(page.locator("#usage-chart rect.bar.cost")).to_have_count(0)
    expect(page.locator("#usage-stats .stat[data-stat=revenue_usd] .value")).not_to_have_text("$0.00")
    with page.expect_download() as download:
        page.click("#usage-csv")
    csv_text = Path(download.value.path()).read_text()
    assert csv_text.splitlines()[0].startswith("day,kind,jobs,succeeded")
    assert "tarot.reading" in csv_text

    # Filters: by email and status, then the row opens the job's detail, with the question hidden.
    page.fill("#f-email", ADMIN_EMAIL)
    page.select_option("#f-status", "succeeded")
    page.click("#search-form button[type=submit]")
    expect(page.locator("#jobs tbody tr")).to_have_count(1)
    page.locator(f"#jobs tr[data-job-id='{job_id}'] td").first.click()
    dialog = page.locator("#detail")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text(job_id)
    expect(dialog).to_contain_text('"question": "[36 characters]"')
    expect(dialog).not_to_contain_text("new shop")
    expect(dialog.locator("table").last).to_contain_text("succeeded")
    expect(dialog.get_by_role("button", name="Retry")).to_have_count(0)
    shot(page, "08-admin-job")
    page.click("#detail-close")
    page.select_option("#f-status", "queued")
    page.click("#search-form button[type=submit]")
    expect(page.locator("#jobs tbody")).to_contain_text("No jobs yet.")

    # Pause and resume a kind (the engine side is tested in tests/jobs/test_console.py).
    page.locator("#kinds tr[data-kind='tarot.reading'] button").click()
    expect(page.locator("#kinds tr[data-kind='tarot.reading'] .badge.paused")).to_have_text("Paused")
    expect(page.locator("#kinds-msg")).to_contain_text("tarot.reading paused")
    page.locator("#kinds tr[data-kind='tarot.reading'] button").click()
    expect(page.locator("#kinds tr[data-kind='tarot.reading'] .badge.running")).to_be_visible()

    # Lookup by email fills the search with that person's jobs.
    page.fill("#wallet-user", ADMIN_EMAIL)
    page.click("#wallet-form button[type=submit]")
    expect(page.locator("#f-email")).to_have_value(ADMIN_EMAIL)
    expect(page.locator(".stat[data-stat=star_balance] .value")).to_have_text("2")

    # In Thai every queue counter is named in Thai, the server's counters (broker, waiting) too.
    page.click("#lang-toggle")
    expect(page.locator("html")).to_have_attribute("lang", "th")
    expect(page.locator("#stats .stat[data-stat=queue_depth] .label")).to_have_text("งานรอคิว")
    expect(page.locator(".topbar a[href='/']")).to_have_text("หน้าหลัก")
    labels = page.locator("#stats .stat .label").all_inner_texts()
    assert len(labels) >= 9
    assert [label for label in labels if re.search("[A-Za-z]", label.replace("DLQ", ""))] == []
    page.click("#lang-toggle")


def test_buy_stars_with_stripe_elements(page: Page, stripe: FakeStripe) -> None:
    page.route(
        "https://js.stripe.com/v3/",
        lambda route: route.fulfill(content_type="text/javascript", body=FAKE_STRIPE_JS),
    )
    sign_up(page, _email("buyer"))
    # What a package gives in all (30 + 3 = 33, as the wallet is credited) and its bonus, as on PixelPop.
    popular = page.locator("#packages li:has(button[data-package=popular])")
    expect(popular).to_contain_text("★ 33")
    expect(popular.locator(".bonus")).to_have_text("+3 bonus")
    expect(page.locator("#packages li:has(button[data-package=starter]) .bonus")).to_have_count(0)
    page.click("#packages button[data-package=starter]")
    expect(page.locator("#pay-form")).to_be_visible()
    expect(page.locator("#payment-element .fake-payment-element")).to_have_text("payment")
    expect(page.locator("#pay-submit")).to_contain_text("99")
    given = page.evaluate("window.__stripe")
    assert given["key"] == STRIPE_PUBLISHABLE_KEY
    intent_id = given["clientSecret"].split("_secret_")[0]
    assert stripe.intent(intent_id)["amount"] == 9_900
    shot(page, "08-buy-elements")

    stripe.set_status(intent_id, "succeeded")  # the card went through on Stripe's side
    page.click("#pay-submit")
    expect(page.locator("#buy-msg")).to_contain_text("10 stars added")
    expect(page.locator("#stars")).to_have_text("13")
    expect(page.locator("#pay-form")).to_be_hidden()
    assert page.evaluate("window.__stripe.redirect") == "if_required"


def test_buy_button_explains_payments_are_off(page: Page) -> None:
    page.route(
        "**/api/v1/payment/create-intent",
        lambda route: route.fulfill(
            status=503, content_type="application/problem+json", body=json.dumps(PAYMENTS_OFF)
        ),
    )
    sign_up(page, _email("nopay"))
    page.click("#packages button[data-package=popular]")
    expect(page.locator("#buy-msg")).to_contain_text("Buying stars is not available yet.")
    expect(page.locator("#buy-msg")).not_to_contain_text("STRIPE")
    expect(page.locator("#pay-form")).to_be_hidden()
    shot(page, "09-payments-off")


def test_a_stale_token_falls_back_to_the_sign_in_form(page: Page) -> None:
    page.add_init_script("localStorage.setItem('conjure.access_token', 'not-a-token')")
    page.goto("/")
    expect(page.locator("#auth")).to_be_visible()
    expect(page.locator("#app")).to_be_hidden()
    assert page.evaluate("localStorage.getItem('conjure.access_token')") is None  # dropped, not retried
    page.fill("#auth-email", "nobody@example.com")
    page.fill("#auth-password", PASSWORD)
    page.click("#tab-login")
    page.click("#auth-submit")
    expect(page.locator("#notice")).to_be_visible()
    expect(page.locator("#notice")).not_to_be_empty()


def _token(server: str, email: str) -> dict[str, str]:
    body = {"email": email, "password": PASSWORD}
    response = httpx.post(f"{server}/api/v1/auth/signup", json=body)
    if response.status_code == 409:
        response = httpx.post(f"{server}/api/v1/auth/login", json=body)
    assert response.status_code in (200, 201), response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def test_past_readings_beyond_the_first_page_stay_reachable(page: Page, server: str) -> None:
    # Every reading was paid for: the 21st-newest must not vanish from the page.
    email = _email("regular")
    user = _token(server, email)
    user_id = httpx.get(f"{server}/api/v1/me", headers=user).json()["id"]
    grant = {"user_id": user_id, "currency": "star", "amount": 20, "reason": "regular customer"}
    granted = httpx.post(
        f"{server}/api/v1/admin/wallet/grant", json=grant, headers=_token(server, ADMIN_EMAIL)
    )
    assert granted.status_code == 200, granted.text
    questions = [f"What should I focus on in week {n} of my new job?" for n in range(1, 22)]
    for question in questions:
        sent = httpx.post(f"{server}/api/v1/tarot/read", json={"question": question}, headers=user)
        assert sent.status_code == 202, sent.text
    deadline = time.monotonic() + 60
    while httpx.get(f"{server}/api/v1/readings?limit=1", headers=user).json()["total"] < 21:
        assert time.monotonic() < deadline, "the readings did not finish in 60 s"
        time.sleep(0.3)

    page.goto("/")
    page.click("#tab-login")
    page.fill("#auth-email", email)
    page.fill("#auth-password", PASSWORD)
    page.click("#auth-submit")
    expect(page.locator("#history .history-item")).to_have_count(20)
    expect(page.locator("#history")).not_to_contain_text("week 1 of")
    page.click("#history-more")
    expect(page.locator("#history .history-item")).to_have_count(21)
    expect(page.locator("#history .history-item").last).to_contain_text("week 1 of")
    expect(page.locator("#history-more")).to_be_hidden()
    shot(page, "12-history-older")


def test_a_double_click_or_another_package_opens_one_payment_form(page: Page, stripe: FakeStripe) -> None:
    page.route(
        "https://js.stripe.com/v3/",
        lambda route: route.fulfill(content_type="text/javascript", body=FAKE_STRIPE_JS),
    )
    intents: list[str] = []
    page.on("request", lambda r: intents.append(r.url) if r.url.endswith("/create-intent") else None)
    sign_up(page, _email("dblbuyer"))
    page.dblclick("#packages button[data-package=starter]")
    expect(page.locator("#pay-submit")).to_contain_text("99")
    page.wait_for_timeout(300)  # a second intent's form would be mounted by now
    expect(page.locator("#payment-element .fake-payment-element")).to_have_count(1)
    assert len(intents) == 1
    page.click("#packages button[data-package=popular]")  # changed their mind: the form is for this one
    expect(page.locator("#pay-submit")).to_contain_text("249")
    expect(page.locator("#payment-element .fake-payment-element")).to_have_count(1)
    intent_id = page.evaluate("window.__stripe.clientSecret").split("_secret_")[0]
    stripe.set_status(intent_id, "succeeded")
    page.click("#pay-submit")
    expect(page.locator("#buy-msg")).to_contain_text("33 stars added")
    expect(page.locator("#stars")).to_have_text("36")
    shot(page, "09-buy-one-form")
