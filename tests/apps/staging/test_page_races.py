"""The ``/staging`` page while things happen meanwhile: a double click on Restage, a project left
while its images are read, a status read answering after a newer one, an image opened while another
is staged, the project list drawn again under a keyboard user. A test about an order holds one
request (the test answers it) to make it."""

from __future__ import annotations

import re

from playwright.sync_api import Page, Route, expect

from tests.apps.staging.conftest import room_photo

IMAGE = re.compile(r".*/api/v1/images/[^/?]+$")  # one image's status (GET); staging is a POST to /images


def _staged(page: Page, email: str, project: str) -> None:
    """Signed up as ``email``, with a project holding one staged (ready) image, shown in the viewer."""
    page.goto("/staging")
    page.fill("#auth-email", email)
    page.fill("#auth-password", "correct horse battery")
    page.click("#signup")
    page.fill("#project-name", project)
    page.click("#project-create")
    expect(page.locator("#projects button.active")).to_contain_text(project)
    photo = room_photo(320, 240)
    page.set_input_files("#file", files=[{"name": "room.jpg", "mimeType": "image/jpeg", "buffer": photo}])
    expect(page.locator("#upload-status")).to_contain_text("uploaded")
    page.click("#stage")
    expect(page.locator("#viewer-status")).to_have_text("Ready", timeout=30_000)
    expect(page.locator("#images li")).to_have_count(1)


def _hold(page: Page, url: re.Pattern[str], method: str, most: int = 9) -> list[Route]:
    """The first ``most`` requests of ``method`` to ``url`` are held (the test answers them); the
    list fills as they come."""
    held: list[Route] = []

    def hold(route: Route) -> None:
        if route.request.method == method and len(held) < most:
            held.append(route)
        else:
            route.continue_()

    page.route(url, hold)
    return held


def test_a_double_click_on_restage_stages_once(page: Page) -> None:
    """Restage charges a star; a double click (or a second click while the first is on its way)
    sends one request, not two jobs and two stars."""
    _staged(page, "double-restager@example.com", "7 Pine Road")
    expect(page.locator("#stars")).to_have_text("★ 2")
    restage = re.compile(r".*/api/v1/images/[^/]+/restage$")
    held = _hold(page, restage, "POST")
    page.dblclick("#restage")
    page.wait_for_timeout(300)  # a second request would be on its way now
    assert len(held) == 1, f"{len(held)} restage requests"
    with page.expect_response(restage):
        held[0].continue_()
    page.unroute(restage)
    expect(page.locator("#images li")).to_have_count(2)
    expect(page.locator("#viewer-status")).to_have_text("Ready", timeout=30_000)
    expect(page.locator("#stars")).to_have_text("★ 1")


def test_a_project_left_while_its_images_are_read_does_not_fill_the_next(page: Page) -> None:
    """The person opens one project then quickly another: the first one's images, answering late,
    are not drawn under the second."""
    _staged(page, "quick-switcher@example.com", "Full House")
    page.fill("#project-name", "Empty Flat")
    page.click("#project-create")
    expect(page.locator("#projects button.active")).to_contain_text("Empty Flat")
    expect(page.locator("#images li")).to_have_count(0)
    images = re.compile(r".*/api/v1/projects/[^/]+/images\?.*$")
    held = _hold(page, images, "GET", most=1)
    page.locator("#projects button", has_text="Full House").click()
    for _ in range(50):
        if held:
            break
        page.wait_for_timeout(100)  # route handlers run while the test waits
    assert len(held) == 1
    page.locator("#projects button", has_text="Empty Flat").click()
    expect(page.locator("#projects button.active")).to_contain_text("Empty Flat")
    page.wait_for_timeout(300)  # the second project's images are read and drawn (none)
    with page.expect_response(images):
        held[0].continue_()  # the first project's images answer last
    page.unroute(images)
    page.wait_for_timeout(300)
    expect(page.locator("#projects button.active")).to_contain_text("Empty Flat")
    expect(page.locator("#images li")).to_have_count(0)


def test_an_older_status_read_answering_last_does_not_undo_ready(page: Page) -> None:
    """Each event of the job re-reads the image; a read that answers after a newer one (its answer
    from while the image was still being staged) does not draw "Staging…" over "Ready"."""
    _staged(page, "slow-reader@example.com", "Slow Lane")
    taken: list[Route] = []
    answers: list[dict[str, object]] = []

    def first_held(route: Route) -> None:
        if taken or route.request.method != "GET":
            route.continue_()
            return
        taken.append(route)  # before fetching: the handlers of the next reads run meanwhile
        # The first read's answer as it was while staging: the image still processing.
        answers.append({**route.fetch().json(), "status": "processing", "staged_url": None})

    page.route(IMAGE, first_held)
    page.select_option("#style", "industrial")
    page.click("#restage")
    expect(page.locator("#images .status-ready")).to_have_count(2, timeout=30_000)
    expect(page.locator("#viewer-status")).to_have_text("Ready")
    assert answers, "the page did not read the image's status"
    taken[0].fulfill(json=answers[0])
    page.wait_for_timeout(300)
    page.unroute(IMAGE)
    expect(page.locator("#viewer-status")).to_have_text("Ready")
    expect(page.locator("#compare")).to_be_visible()


def test_an_image_opened_while_another_is_staged_stays_in_the_viewer(page: Page) -> None:
    """While a restage runs the person opens an older image from the list: the one being staged,
    read as its job goes on, is not drawn over the one they opened."""
    _staged(page, "card-opener@example.com", "Open House")
    href = page.get_attribute("#download", "href")
    assert href is not None
    first = href.split("?")[0]  # the older image's file (its signed query changes per read)
    held = _hold(page, IMAGE, "GET")  # the new image's reads, answered once the older one is open
    page.select_option("#style", "industrial")
    page.click("#restage")
    expect(page.locator("#images li")).to_have_count(2)
    for _ in range(50):
        if held:
            break
        page.wait_for_timeout(100)  # route handlers run while the test waits
    assert held, "the page did not read the new image"
    page.locator("#images .image-card").last.click()  # the older image
    expect(page.locator("#viewer-status")).to_have_text("Ready")
    expect(page.locator("#download")).to_have_attribute("href", re.compile(re.escape(first) + r"\?"))
    for route in list(held):
        route.continue_()
    page.unroute(IMAGE)  # a read held meanwhile goes on too
    expect(page.locator("#images .status-ready")).to_have_count(2, timeout=30_000)
    page.wait_for_timeout(300)  # a late read of the new image would be drawn now
    assert (page.get_attribute("#download", "href") or "").split("?")[0] == first


def test_a_keyboard_user_keeps_their_place_when_the_projects_are_drawn_again(page: Page) -> None:
    """Opening a project (Enter on its button) reads and draws the project list again; the button
    the person is on is focused again in the new list, not lost with the old one."""
    page.goto("/staging")
    page.fill("#auth-email", "keyboard-stager@example.com")
    page.fill("#auth-password", "correct horse battery")
    page.click("#signup")
    for name in ("North Wing", "South Wing"):
        page.fill("#project-name", name)
        page.click("#project-create")
        expect(page.locator("#projects button.active")).to_contain_text(name)
    north = page.locator("#projects button", has_text="North Wing")
    north.focus()
    north.evaluate("button => { button.dataset.drawn = 'before'; }")
    page.keyboard.press("Enter")
    expect(page.locator("#projects button[data-drawn]")).to_have_count(0)  # drawn again
    expect(page.locator("#projects button.active")).to_contain_text("North Wing")
    expect(north).to_be_focused()
