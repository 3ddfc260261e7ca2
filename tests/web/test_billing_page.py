"""The plans & billing section in headless Chromium: subscribe through Checkout, see the plan, its
allowance and invoices once Stripe's events are applied, cancel/resume, the portal, in English and Thai."""

from __future__ import annotations

import uuid

import httpx
from playwright.sync_api import Page, Route, expect

from tests.payments.stripe_server import FakeStripe, make_event, sign
from tests.web.browser import STRIPE_WEBHOOK_SECRET, shot
from tests.web.test_pages import sign_up


def _stripe_page(title: str):  # type: ignore[no-untyped-def]
    def fulfill(route: Route) -> None:
        route.fulfill(
            status=200, content_type="text/html", body=f"<!doctype html><title>{title}</title><p>{title}</p>"
        )

    return fulfill


def _deliver(server: str, events: list[tuple[str, dict[str, object]]]) -> None:
    for event_type, obj in events:
        payload = make_event(event_type, obj)
        response = httpx.post(
            f"{server}/webhooks/stripe",
            content=payload,
            headers={
                "Stripe-Signature": sign(payload, STRIPE_WEBHOOK_SECRET),
                "Content-Type": "application/json",
            },
        )
        assert response.status_code == 200, response.text


def test_subscribe_with_checkout_then_manage_the_plan(page: Page, server: str, stripe: FakeStripe) -> None:
    sign_up(page, f"plans-{uuid.uuid4().hex[:8]}@example.com")
    expect(page.locator("#billing-current")).to_have_text("You are on the free plan.")
    expect(page.locator("#plans li.plan")).to_have_count(3)
    expect(page.locator('#plans li[data-plan="free"]')).to_have_class("plan current")
    expect(page.locator('#plans li[data-plan="plus"]')).to_contain_text("★ 30 stars every month")
    expect(page.locator('#plans li[data-plan="pro"]')).to_contain_text("Priority queue")
    expect(page.locator("#invoices")).to_have_text("No invoices yet.")
    page.locator("#billing").scroll_into_view_if_needed()
    shot(page, "billing-free")

    page.route("https://checkout.stripe.test/**", _stripe_page("Stripe Checkout"))
    page.click('#plans button[data-plan="plus"]')
    page.wait_for_url("https://checkout.stripe.test/**")
    session_id = page.url.rsplit("/", 1)[-1]
    checkout = stripe.billing.sessions[session_id]
    assert checkout["success_url"].endswith("/billing?checkout=success&session_id={CHECKOUT_SESSION_ID}")
    _deliver(server, stripe.billing.complete_checkout(session_id))  # the customer paid on Stripe's page

    page.goto(f"/billing?checkout=success&session_id={session_id}")
    expect(page.locator("#billing-current")).to_contain_text("Your plan: Plus (active).", timeout=20_000)
    expect(page.locator("#billing-msg")).to_have_text(
        "Thank you! Plus is yours: its stars are in your wallet."
    )
    expect(page.locator("#billing-allowance")).to_contain_text("30 plan stars left")
    expect(page.locator("#stars")).to_have_text("33")
    expect(page.locator('#plans li[data-plan="plus"] button')).to_be_disabled()
    expect(page.locator('#plans li[data-plan="pro"] button')).to_have_text("Switch")
    invoice = page.locator("#invoices li.invoice")
    expect(invoice).to_have_count(1)
    expect(invoice).to_contain_text("Paid")
    expect(invoice.locator("a", has_text="PDF")).to_have_attribute(
        "href", f"https://pay.stripe.test/invoice/{invoice.get_attribute('data-invoice')}/pdf"
    )
    shot(page, "billing-plus")

    page.click("#billing-cancel")
    expect(page.locator("#billing-current")).to_contain_text("it will not renew")
    expect(page.locator("#billing-resume")).to_be_visible()
    shot(page, "billing-canceling")
    page.click("#billing-resume")
    expect(page.locator("#billing-current")).to_contain_text("Renews on")

    page.click("#lang-toggle")
    expect(page.locator("#billing h2")).to_have_text("แพ็กเกจและการชำระเงิน")
    expect(page.locator("#billing-current")).to_contain_text("ใช้งานอยู่")
    shot(page, "billing-thai")
    page.click("#lang-toggle")

    page.route("https://billing.stripe.test/**", _stripe_page("Stripe customer portal"))
    page.click("#billing-portal")
    page.wait_for_url("https://billing.stripe.test/**")
    assert stripe.billing.portal_sessions[-1]["return_url"].endswith("/billing")


def test_a_double_click_on_subscribe_opens_one_checkout(page: Page, stripe: FakeStripe) -> None:
    subscribes: list[str] = []
    page.on("request", lambda r: subscribes.append(r.url) if r.url.endswith("/billing/subscribe") else None)
    sign_up(page, f"dblplans-{uuid.uuid4().hex[:8]}@example.com")
    expect(page.locator("#plans li.plan")).to_have_count(3)
    page.route("https://checkout.stripe.test/**", _stripe_page("Stripe Checkout"))
    before = len(stripe.billing.sessions)
    page.dblclick('#plans button[data-plan="plus"]')
    page.wait_for_url("https://checkout.stripe.test/**")
    assert len(subscribes) == 1
    assert len(stripe.billing.sessions) == before + 1
