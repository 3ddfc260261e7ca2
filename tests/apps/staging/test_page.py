"""The ``/staging`` page in headless Chromium against ``conjure up``: sign up, project, drag-and-drop
upload straight to storage with progress, stage, live status, before/after slider, download, restage."""

from __future__ import annotations

import base64
import re

import httpx
from playwright.sync_api import Page, Route, expect

from tests.apps.staging.conftest import room_photo
from tests.web.browser import shot


def test_stage_a_room_from_the_page(page: Page, server: str) -> None:
    response = page.goto("/staging")
    assert response is not None
    csp = response.headers["content-security-policy"]
    assert f"connect-src 'self' {server}" in csp
    assert "'unsafe-inline'" not in csp
    page.fill("#auth-email", "stager@example.com")
    page.fill("#auth-password", "correct horse battery")
    page.click("#signup")
    expect(page.locator("#app")).to_be_visible()
    expect(page.locator("#stars")).to_have_text("★ 3")
    page.fill("#project-name", "12 Elm Street")
    page.click("#project-create")
    expect(page.locator("#projects button.active")).to_contain_text("12 Elm Street")
    shot(page, "staging-01-project")

    # Drag and drop: the same File object a desktop browser hands the page.
    photo = base64.b64encode(room_photo(960, 640)).decode()
    transfer = page.evaluate_handle(
        """(b64) => {
            const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
            const data = new DataTransfer();
            data.items.add(new File([bytes], "empty-room.jpg", { type: "image/jpeg" }));
            return data;
        }""",
        photo,
    )
    page.dispatch_event("#drop", "drop", {"dataTransfer": transfer})
    expect(page.locator("#upload-status")).to_contain_text("uploaded")
    expect(page.locator("#upload-progress")).to_have_attribute("value", "100")
    page.select_option("#room-type", "bedroom")
    page.select_option("#style", "scandinavian")
    page.click("#stage")
    expect(page.locator("#viewer-status")).to_have_text("Ready", timeout=30_000)
    expect(page.locator("#viewer-note")).to_contain_text("Offline preview")
    expect(page.locator("#compare")).to_be_visible()
    # Function form: a bare expression is compiled with eval in the page, which its CSP refuses
    # whenever the condition is not already true on the first check.
    page.wait_for_function("() => document.getElementById('after').naturalWidth > 0")
    page.wait_for_function("() => document.getElementById('before').naturalWidth > 0")
    page.fill("#slider", "20")
    clip = page.eval_on_selector("#before-clip", "el => el.style.clipPath")
    assert clip == "inset(0px 80% 0px 0px)"
    href = page.get_attribute("#download", "href")
    assert href is not None
    assert "/files/staged/" in href
    downloaded = httpx.get(href)
    assert (downloaded.status_code, downloaded.headers["content-type"]) == (200, "image/jpeg")
    expect(page.locator("#stars")).to_have_text("★ 2")
    expect(page.locator("#images li")).to_have_count(1)
    shot(page, "staging-02-ready")

    page.set_viewport_size({"width": 1280, "height": 900})
    page.select_option("#style", "industrial")
    page.click("#restage")
    expect(page.locator("#images li")).to_have_count(2)
    expect(page.locator("#viewer-status")).to_have_text("Ready", timeout=30_000)
    expect(page.locator("#images .status-ready")).to_have_count(2)
    shot(page, "staging-03-restaged")


def test_the_file_picker_uploads_too_and_refusals_are_shown(page: Page, server: str) -> None:
    page.goto("/staging")
    page.fill("#auth-email", "picker@example.com")
    page.fill("#auth-password", "correct horse battery")
    page.click("#signup")
    page.fill("#project-name", "Loft")
    page.click("#project-create")
    expect(page.locator("#workspace")).to_be_visible()
    page.set_input_files(
        "#file",
        files=[{"name": "room.png", "mimeType": "image/png", "buffer": room_photo(320, 240, fmt="PNG")}],
    )
    expect(page.locator("#upload-status")).to_contain_text("uploaded")
    expect(page.locator("#stage")).to_be_enabled()
    page.set_input_files("#file", files=[{"name": "notes.gif", "mimeType": "image/gif", "buffer": b"GIF89a"}])
    expect(page.locator("#notice")).to_be_visible()
    expect(page.locator("#stage")).to_be_disabled()


def test_a_session_is_resumed_ended_and_started_again_by_logging_in(page: Page) -> None:
    """The sign-in panel every app page shares (``startAppPage`` in api.js)."""
    page.goto("/staging")
    page.fill("#auth-email", "returning@example.com")
    page.fill("#auth-password", "correct horse battery")
    page.click("#signup")
    expect(page.locator("#stars")).to_have_text("★ 3")
    page.reload()  # the session a previous visit left: straight to the page
    expect(page.locator("#app")).to_be_visible()
    expect(page.locator("#auth")).to_be_hidden()
    page.click("#logout")
    expect(page.locator("#auth")).to_be_visible()
    expect(page.locator("#app")).to_be_hidden()
    page.fill("#auth-email", "returning@example.com")
    page.fill("#auth-password", "wrong password!")
    page.click("#login")
    expect(page.locator("#notice")).not_to_be_empty()
    expect(page.locator("#app")).to_be_hidden()
    page.fill("#auth-password", "correct horse battery")
    page.click("#login")
    expect(page.locator("#app")).to_be_visible()
    expect(page.locator("#stars")).to_have_text("★ 3")
    shot(page, "staging-04-logged-in-again")


def test_a_canceled_image_is_shown_as_canceled_not_failed(page: Page) -> None:
    """What the API answers for an image whose job its owner canceled (tests/apps/staging/
    test_failures.py makes a real one), served to the page for its viewer and its list."""
    page.goto("/staging")
    page.fill("#auth-email", "canceler@example.com")
    page.fill("#auth-password", "correct horse battery")
    page.click("#signup")
    page.fill("#project-name", "3 Oak Lane")
    page.click("#project-create")
    expect(page.locator("#projects button.active")).to_contain_text("3 Oak Lane")
    photo = room_photo(640, 480)
    page.set_input_files("#file", files=[{"name": "room.jpg", "mimeType": "image/jpeg", "buffer": photo}])
    expect(page.locator("#upload-status")).to_contain_text("uploaded")
    error = {"code": "canceled", "message": "The job was canceled."}

    def canceled(route: Route) -> None:
        # The real answer (its ids, links and fields), with the status a canceled job's image has.
        body = route.fetch().json()
        if "items" in body:
            body["items"] = [{**item, "status": "canceled", "error": error} for item in body["items"]]
        else:
            body = {**body, "status": "canceled", "error": error}
        route.fulfill(json=body)

    page.route(re.compile(r"/api/v1/images/[^/?]+$"), canceled)  # GET only: staging is a POST to /images
    page.route(re.compile(r"/api/v1/projects/[^/]+/images\?"), canceled)
    page.click("#stage")
    expect(page.locator("#viewer-status")).to_have_text("Canceled", timeout=30_000)
    expect(page.locator("#viewer-status")).to_have_class("badge status-canceled")
    expect(page.locator("#viewer-note")).to_have_text("Canceled: no stars were charged for it.")
    expect(page.locator("#images .status-canceled")).to_have_text("Canceled")
    expect(page.locator("#images .status-failed")).to_have_count(0)
    expect(page.locator("#compare")).to_be_hidden()
    shot(page, "staging-05-canceled")
    page.unroute_all(behavior="ignoreErrors")  # a handler still fetching as the page closes
