"""Serves the browser client: the tarot page at ``/`` (its billing section also at ``/billing``), PixelPop at
``/pixelpop``, the console at ``/admin``, password reset at ``/reset-password``.

The pages are plain HTML + ES modules under ``static/`` (no build step), so ``conjure up`` serves a
working client in every mode. The HTML carries a strict Content-Security-Policy: scripts only from
this origin plus Stripe.js and Telegram's Mini App script, no inline script or style.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from fastapi import APIRouter, Request, Response
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel

from conjure.apps.tarot.deck import Card, load_deck
from conjure.deps import SettingsDep
from conjure.kit.pages import storage_origin

STATIC_DIR = Path(__file__).parent / "static"

# Stripe's documented CSP needs (js.stripe.com scripts and frames, hooks.stripe.com 3-D Secure frames,
# api.stripe.com calls); telegram.org serves telegram-web-app.js. frame-ancestors lets Telegram's web
# client embed the Mini App (browsers ignore X-Frame-Options when frame-ancestors is present).
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self' https://js.stripe.com https://*.js.stripe.com https://telegram.org",
        "style-src 'self'",
        "img-src 'self' data: https://*.stripe.com https://t.me https://*.telegram.org",
        "font-src 'self'",
        "connect-src 'self' https://api.stripe.com",
        "frame-src https://js.stripe.com https://*.js.stripe.com https://hooks.stripe.com",
        "frame-ancestors 'self' https://web.telegram.org https://*.telegram.org",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
    ]
)

PAGE_HEADERS = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    # Pages are tiny and change with each release; assets revalidate by ETag.
    "cache-control": "no-cache",
}
# PixelPop shows the images it made, which S3 (or another host than this one) may serve through
# signed links: images may come from any https origin there. Scripts stay as strict as above.
PIXELPOP_HEADERS = {
    **PAGE_HEADERS,
    "content-security-policy": CONTENT_SECURITY_POLICY.replace(
        "img-src 'self' data:", "img-src 'self' data: blob: https:"
    ),
}

router = APIRouter(include_in_schema=False)
router.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")


class WebConfig(BaseModel):
    """What the browser client needs to know before it can render the buy button."""

    payments_enabled: bool
    stripe_publishable_key: str | None
    coins_per_star: int
    signup_bonus_stars: int
    telegram_login_enabled: bool


@router.api_route("/", methods=["GET", "HEAD"])
async def visitor_page() -> FileResponse:
    """The visitor page: sign-up, wallet, readings, invites, star purchases."""
    return FileResponse(STATIC_DIR / "index.html", headers=PAGE_HEADERS)


@router.api_route("/billing", methods=["GET", "HEAD"])
async def billing_page() -> FileResponse:
    """The visitor page opened at its plans & billing section (where Checkout and the portal return)."""
    return FileResponse(STATIC_DIR / "index.html", headers=PAGE_HEADERS)


@router.api_route("/pixelpop", methods=["GET", "HEAD"])
async def pixelpop_page(request: Request) -> FileResponse:
    """PixelPop (seed 004): the Telegram Mini App a bot's button opens; also works in a plain browser."""
    # The local store links over plain http to PUBLIC_BASE_URL, which need not be the name the page
    # was opened at (localhost against 127.0.0.1): let the store's own origin in as well.
    origin = await storage_origin(request, "pixelpop/origin-probe")
    policy = PIXELPOP_HEADERS["content-security-policy"].replace(
        "img-src 'self' data: blob: https:", f"img-src 'self' data: blob: https: {origin}"
    )
    return FileResponse(
        STATIC_DIR / "pixelpop.html", headers={**PIXELPOP_HEADERS, "content-security-policy": policy}
    )


@router.api_route("/reset-password", methods=["GET", "HEAD"])
async def reset_password_page() -> FileResponse:
    """Password reset: asks for the email, or (opened from the emailed link) for the new password."""
    return FileResponse(STATIC_DIR / "reset.html", headers=PAGE_HEADERS)


@router.api_route("/admin", methods=["GET", "HEAD"])
async def admin_page() -> FileResponse:
    """The operator console; its data endpoints enforce the admin role, the page itself is public."""
    return FileResponse(STATIC_DIR / "admin.html", headers=PAGE_HEADERS)


@router.get("/api/v1/web/config", response_model=WebConfig)
async def web_config(settings: SettingsDep) -> WebConfig:
    """Public client configuration (no secrets): whether payments are on and Stripe's publishable key."""
    payments = settings.stripe_api_key is not None
    return WebConfig(
        payments_enabled=payments,
        stripe_publishable_key=(settings.stripe_publishable_key or None) if payments else None,
        coins_per_star=settings.coins_per_star,
        signup_bonus_stars=settings.signup_bonus_stars,
        telegram_login_enabled=settings.telegram_bot_token is not None,
    )


class DeckSide(BaseModel):
    keywords: list[str]
    meaning: str


class DeckCard(BaseModel):
    """One card as the page needs it to draw and name it in Thai and English."""

    id: str
    name: str
    name_th: str
    arcana: str
    suit: str | None
    number: int
    theme_th: str
    upright: DeckSide
    reversed: DeckSide


class DeckOut(BaseModel):
    cards: list[DeckCard]


def _deck_card(card: Card) -> DeckCard:
    return DeckCard(
        id=card.id,
        name=card.name,
        name_th=card.name_th,
        arcana=card.arcana,
        suit=card.suit,
        number=card.number,
        theme_th=card.theme_th,
        upright=DeckSide(keywords=list(card.upright.keywords), meaning=card.upright.meaning),
        reversed=DeckSide(keywords=list(card.reversed.keywords), meaning=card.reversed.meaning),
    )


@cache
def _deck() -> DeckOut:
    return DeckOut(cards=[_deck_card(card) for card in load_deck()])


@router.get("/api/v1/web/deck", response_model=DeckOut)
async def web_deck(response: Response) -> DeckOut:
    """The 78 cards' names and themes in Thai and English (the deck is package data: cacheable)."""
    response.headers["cache-control"] = "public, max-age=3600"
    return _deck()
