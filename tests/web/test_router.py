"""The web router without a browser: pages, assets, headers and the public client config."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from conjure.app import create_app
from conjure.runtime import Runtime
from conjure.settings import Settings


async def test_pages_and_assets_are_served_with_a_strict_csp(client: httpx.AsyncClient) -> None:
    pages = (("/", "app.js"), ("/admin", "admin.js"), ("/reset-password", "reset.js"))
    for path, script in pages:
        marker = f'src="/static/{script}"'
        page = await client.get(path)
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        assert marker in page.text
        csp = page.headers["content-security-policy"]
        assert "default-src 'self'" in csp
        assert "object-src 'none'" in csp
        assert "unsafe-inline" not in csp
        assert "unsafe-eval" not in csp
        assert "<script>" not in page.text  # the CSP forbids inline scripts; none may be needed
    for asset, kind in (("app.js", "javascript"), ("api.js", "javascript"), ("style.css", "text/css")):
        response = await client.get(f"/static/{asset}")
        assert response.status_code == 200
        assert kind in response.headers["content-type"]
    assert (await client.head("/")).status_code == 200
    missing = await client.get("/static/../router.py")
    assert missing.status_code == 404


async def test_config_says_payments_are_off_by_default(client: httpx.AsyncClient) -> None:
    config = (await client.get("/api/v1/web/config")).json()
    assert config["payments_enabled"] is False
    assert config["stripe_publishable_key"] is None
    assert config["coins_per_star"] == 10


async def test_config_hands_out_the_publishable_key_never_the_secret(
    make_settings: Callable[..., Settings], sqlite_url: str
) -> None:
    settings = make_settings(
        database_url=sqlite_url, stripe_api_key="sk_test_secret", stripe_publishable_key="pk_test_public"
    )
    runtime = await Runtime.start(settings)
    try:
        transport = httpx.ASGITransport(app=create_app(runtime=runtime))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            response = await client.get("/api/v1/web/config")
    finally:
        await runtime.close()
    assert response.json()["payments_enabled"] is True
    assert response.json()["stripe_publishable_key"] == "pk_test_public"
    assert "sk_test_secret" not in response.text


async def test_pixelpop_page_allows_https_images_but_no_inline_script(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    page = await client.get("/pixelpop")
    assert page.status_code == 200
    assert 'src="/static/pixelpop.js"' in page.text
    assert "<script>" not in page.text
    csp = page.headers["content-security-policy"]
    assert "img-src 'self' data: blob: https:" in csp  # S3's signed image links
    # The local store links over plain http, to PUBLIC_BASE_URL: a page opened under another name for
    # this server (127.0.0.1 for localhost) must still show the pictures, so that origin is let in too.
    store = await runtime.storage.presigned_get_url("probe.png", expires_seconds=60)
    assert store.startswith("http://")
    origin = "/".join(store.split("/")[:3])
    img_src = next(d for d in csp.split("; ") if d.startswith("img-src "))
    assert origin in img_src.split()
    assert "script-src 'self' https://js.stripe.com" in csp
    assert "unsafe-inline" not in csp
    # The tarot page keeps the narrower image rule.
    assert "img-src 'self' data: https://" in (await client.get("/")).headers["content-security-policy"]
    for asset in ("pixelpop.js", "pixelpop-i18n.js", "telegram.js", "cards.js", "reading.js", "pixelpop.css"):
        assert (await client.get(f"/static/{asset}")).status_code == 200


async def test_deck_gives_all_78_cards_in_thai_and_english(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/web/deck")
    assert response.status_code == 200
    assert "max-age" in response.headers["cache-control"]
    cards = response.json()["cards"]
    assert len(cards) == 78
    assert len({c["id"] for c in cards}) == 78
    fool = next(c for c in cards if c["id"] == "major-00")
    assert fool["name"] == "The Fool"
    assert fool["name_th"] == "คนเขลา"
    assert fool["theme_th"]
    assert fool["upright"]["keywords"]
    assert sum(c["arcana"] == "major" for c in cards) == 22
