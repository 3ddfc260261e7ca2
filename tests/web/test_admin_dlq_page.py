"""The operator console's dead-letter queue in headless Chromium: a page at a time, then purged."""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path

import httpx
from playwright.sync_api import Page, expect
from sqlalchemy import create_engine, update
from sqlalchemy.orm import Session

from conjure.jobs.models import Job, JobStatus
from conjure.users.models import User
from tests.web.browser import shot

PASSWORD = "correct horse battery"
DEAD = 30  # more than the console's page of 25


def _seed(var: Path, admin_email: str) -> list[uuid.UUID]:
    """An operator (by role, so the session's ADMIN_EMAILS account stays for the other console
    test) and DEAD jobs in the DLQ, written to the running server's database. Returns their ids,
    the latest to arrive first."""
    engine = create_engine(f"sqlite:///{(var / 'conjure.db').as_posix()}")
    now = dt.datetime.now(dt.UTC)
    ids = [uuid.uuid4() for _ in range(DEAD)]
    jobs = [
        Job(
            id=ids[n],
            kind="tarot.reading",
            status=JobStatus.DLQ,
            payload={},
            attempts=5,
            max_attempts=5,
            error_code="upstream_timeout",
            last_error=f"dead letter {n}",
            # Minutes before the session's other jobs, so they keep the top of the job search.
            created_at=now - dt.timedelta(minutes=10, seconds=DEAD - n),
            updated_at=now - dt.timedelta(minutes=5, seconds=DEAD - n),
            run_at=now,
        )
        for n in range(DEAD)
    ]
    with Session(engine) as session:
        session.add_all(jobs)
        session.execute(update(User).where(User.email == admin_email).values(role="admin"))
        session.commit()
    engine.dispose()
    return ids[::-1]


def _row_ids(page: Page) -> list[str]:
    return page.locator("#dlq tbody tr").evaluate_all("rows => rows.map((r) => r.dataset.jobId)")


def test_the_console_pages_through_the_dlq_and_purges_it(page: Page, server: str, server_var: Path) -> None:
    email = f"operator-{uuid.uuid4().hex[:8]}@example.com"
    signup = httpx.post(f"{server}/api/v1/auth/signup", json={"email": email, "password": PASSWORD})
    assert signup.status_code == 201, signup.text
    latest_first = [str(job_id) for job_id in _seed(server_var, email)]

    page.goto("/admin")
    page.fill("#login-email", email)
    page.fill("#login-password", PASSWORD)
    page.click("#login-form button[type=submit]")
    info = page.locator("#dlq-page-info")
    expect(info).to_have_text(f"1–25 of {DEAD}")
    assert _row_ids(page) == latest_first[:25]
    expect(page.locator("#dlq tbody tr").first).to_contain_text("upstream_timeout: dead letter 29")
    expect(page.locator("#dlq-prev")).to_be_disabled()
    page.locator("#dlq").scroll_into_view_if_needed()
    shot(page, "09-admin-dlq")

    page.click("#dlq-next")
    expect(info).to_have_text(f"26–{DEAD} of {DEAD}")
    assert _row_ids(page) == latest_first[25:]
    expect(page.locator("#dlq-next")).to_be_disabled()
    # A refresh (the button, or the console's auto-refresh) keeps the page the operator turned to.
    page.click("#refresh")
    expect(info).to_have_text(f"26–{DEAD} of {DEAD}")
    page.click("#dlq-prev")
    expect(info).to_have_text(f"1–25 of {DEAD}")
    page.click("#dlq-next")

    # Purged from the second page: the list is empty, the pager gone.
    page.once("dialog", lambda dialog: dialog.accept("PURGE"))
    page.click("#dlq-purge")
    expect(page.locator("#dlq-msg")).to_have_text(f"{DEAD} jobs purged from the DLQ.")
    expect(page.locator("#dlq")).to_contain_text("The DLQ is empty.")
    expect(page.locator("#dlq-pager")).to_be_hidden()
    shot(page, "10-admin-dlq-purged")
