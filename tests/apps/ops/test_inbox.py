"""The inbox and reviews: one thread per customer across channels, read state, assignment, replies;
Google reviews stored once with AI reply drafts and publishing."""

from __future__ import annotations

import datetime as dt
import sys
import types
import uuid
from typing import Any

import pytest
from sqlalchemy import select

from conjure.apps.ops.crypto import cipher_for
from conjure.apps.ops.inbox import RUNTIME_KEY, handle_inbound
from conjure.apps.ops.models import InboxMessage
from conjure.apps.ops.texts import MESSAGE
from conjure.channels.types import InboundMessage
from conjure.jobs.models import Job
from conjure.settings import Settings
from tests.apps.ops.conftest import Ops


async def test_one_thread_per_customer_across_channels(ops: Ops) -> None:
    sid, owner = await ops.station("threads")
    base = f"/api/v1/ops/stations/{sid}"
    for channel, address in (("sms", "+15550001000"), ("whatsapp", "wa-123")):
        body = {"channel": channel, "address": address}
        assert (await ops.client.post(f"{base}/channels", json=body, headers=owner)).status_code == 201
    first = await ops.inbound("Hello from SMS", to="+15550001000", sender="+14155550123")
    second = await ops.inbound("Hello on WhatsApp", to="wa-123", sender="+14155550123", channel="whatsapp")
    assert first is not None
    assert second is not None
    assert first.thread_id == second.thread_id
    assert await ops.inbound("not ours", to="+19999999999") is None  # no station has that number

    threads = (await ops.client.get(f"{base}/inbox", headers=owner)).json()
    assert [(t["unread"], t["last_text"]) for t in threads["items"]] == [(2, "Hello on WhatsApp")]
    thread = threads["items"][0]["id"]
    assert (await ops.client.post(f"{base}/inbox/{thread}/read", headers=owner)).status_code == 204
    assert (await ops.client.get(f"{base}/inbox", params={"unread": True}, headers=owner)).json()[
        "total"
    ] == 0

    staff, staff_headers = await ops.member(sid, owner, "staff")
    outsider, _ = await ops.user()
    assign = await ops.client.post(
        f"{base}/inbox/{thread}/assign", json={"user_id": str(staff.id)}, headers=owner
    )
    assert assign.status_code == 204
    mine = await ops.client.get(f"{base}/inbox", params={"assigned_to": str(staff.id)}, headers=staff_headers)
    assert mine.json()["total"] == 1
    wrong = await ops.client.post(
        f"{base}/inbox/{thread}/assign", json={"user_id": str(outsider.id)}, headers=owner
    )
    assert (wrong.status_code, wrong.json()["code"]) == (422, "not_a_member")

    reply = await ops.client.post(
        f"{base}/inbox/{thread}/reply", json={"text": "Hi there!"}, headers=staff_headers
    )
    assert reply.status_code == 201
    assert (reply.json()["channel"], reply.json()["direction"]) == ("whatsapp", "out")  # the last inbound's

    lead = (await ops.client.post(f"{base}/inbox/{thread}/lead", headers=staff_headers)).json()
    assert (lead["source"], lead["phone"], lead["message"]) == ("inbox", "+14155550123", "Hello on WhatsApp")


async def test_google_reviews_are_stored_once_drafted_and_published(make_ops: Any, sqlite_url: str) -> None:
    from cryptography.hazmat.primitives.asymmetric import rsa

    from tests.channels.peers import ProviderPeer, channel_settings

    peer = ProviderPeer(rsa.generate_private_key(public_exponent=65537, key_size=2048)).start()
    try:
        ops = await make_ops(database_url=sqlite_url, **channel_settings(peer.url))
        await _reviews_flow(ops, peer)
    finally:
        peer.stop()


async def _reviews_flow(ops: Ops, peer: Any) -> None:
    sid, owner = await ops.station("reviews")
    base = f"/api/v1/ops/stations/{sid}"
    body = {"channel": "google", "address": "locations/42"}
    assert (await ops.client.post(f"{base}/channels", json=body, headers=owner)).status_code == 201
    for _ in range(2):
        stored = await ops.inbound(
            "Food was cold and the chef was late", to="locations/42", sender="reviewer-7", channel="google",
            kind="review", rating=2, reviewer_name="Pat", provider_message_id="reviews/abc",
        )  # fmt: skip
        assert stored is None  # a review, not a message
    reviews = (await ops.client.get(f"{base}/reviews", params={"rating": 2}, headers=owner)).json()
    assert [(r["platform"], r["rating"], r["reviewer_name"]) for r in reviews["items"]] == [
        ("google", 2, "Pat")
    ]
    review = reviews["items"][0]["id"]
    drafted = (await ops.client.post(f"{base}/reviews/{review}/draft", headers=owner)).json()
    assert drafted["reply_status"] == "drafted"
    assert drafted["reply_draft"].startswith("We're sorry, Pat")
    published = (await ops.client.post(f"{base}/reviews/{review}/publish", json={}, headers=owner)).json()
    assert (published["reply_status"], published["reply_text"]) == ("published", drafted["reply_draft"])
    # It went to the Business Profile API: PUT …/locations/42/reviews/abc/reply with the text.
    (put,) = [c for c in peer.calls if c.method == "PUT"]
    assert put.path.endswith("/locations/42/reviews/abc/reply")
    assert put.json() == {"comment": drafted["reply_draft"]}
    audit = (await ops.client.get(f"{base}/audit", headers=owner)).json()["items"]
    assert sorted(a["action"] for a in audit) == ["review_reply", "review_reply.published"]


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str, str, str]]:
    """What went out through ``conjure.channels.outbound.send_message`` (channel, from, to, text);
    the n-th message gets the provider id ``SMn``."""
    out: list[tuple[str, str, str, str]] = []

    async def send_message(
        settings: Settings, channel: str, from_address: str, to_address: str, text: str
    ) -> str:
        out.append((channel, from_address, to_address, text))
        return f"SM{len(out)}"

    outbound = types.ModuleType("conjure.channels.outbound")
    outbound.send_message = send_message  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "conjure.channels.outbound", outbound)
    return out


async def test_replies_go_out_through_the_channels_send_api(
    ops: Ops, sent: list[tuple[str, str, str, str]]
) -> None:
    sid, owner = await ops.station("outbound")
    base = f"/api/v1/ops/stations/{sid}"
    body = {"channel": "sms", "address": "+15550009999"}
    assert (await ops.client.post(f"{base}/channels", json=body, headers=owner)).status_code == 201
    message = await ops.inbound("Are you open Sunday?", to="+15550009999", sender="+14155550188")
    assert message is not None
    reply = await ops.client.post(
        f"{base}/inbox/{message.thread_id}/reply", json={"text": "Yes!"}, headers=owner
    )
    assert reply.status_code == 201
    assert sent == [("sms", "+15550009999", "+14155550188", "Yes!")]
    async with ops.api.runtime.db.session() as session:
        stored = await session.get(InboxMessage, uuid.UUID(reply.json()["id"]))
    assert stored is not None
    assert stored.provider_message_id == "SM1"


async def test_the_channels_handler_needs_the_runtime_on_the_session(ops: Ops) -> None:
    sid, owner = await ops.station("handler")
    body = {"channel": "sms", "address": "+15550008888"}
    assert (
        await ops.client.post(f"/api/v1/ops/stations/{sid}/channels", json=body, headers=owner)
    ).status_code == 201
    msg = InboundMessage(
        "sms", "message", "h-1", "+14155550177", "+15550008888", "Hello", dt.datetime.now(dt.UTC)
    )
    with pytest.raises(RuntimeError, match=r"conjure\.runtime"):
        async with ops.api.runtime.db.session() as session:
            await handle_inbound(session, msg)
    async with ops.api.runtime.db.session() as session:
        session.info[RUNTIME_KEY] = ops.api.runtime
        await handle_inbound(session, msg)
        await handle_inbound(session, msg)  # a redelivery is stored once
    async with ops.api.runtime.db.session() as session:
        rows = list(await session.scalars(select(InboxMessage)))
        jobs = list(await session.scalars(select(Job).where(Job.kind == "ops.triage")))
    cipher = cipher_for(ops.api.runtime.settings)
    assert [(MESSAGE.read(cipher, m), m.triage) for m in rows] == [("Hello", "pending")]
    assert [j.payload["message_id"] for j in jobs] == [str(rows[0].id)]


async def test_a_reply_sent_again_with_its_idempotency_key_goes_out_once(
    make_ops: Any, backend: dict[str, str], sent: list[tuple[str, str, str, str]]
) -> None:
    """A retry after a dropped connection (and two copies at once) is the same reply: stored and
    sent once; the key with another text is 409; a reply without a key is a new reply."""
    import asyncio

    ops = await make_ops(**backend)
    sid, owner = await ops.station("replies")
    base = f"/api/v1/ops/stations/{sid}"
    body = {"channel": "sms", "address": "+15550007777"}
    assert (await ops.client.post(f"{base}/channels", json=body, headers=owner)).status_code == 201
    message = await ops.inbound("Do you cater weddings?", to="+15550007777", sender="+14155550166")
    assert message is not None
    url = f"{base}/inbox/{message.thread_id}/reply"
    keyed = {**owner, "Idempotency-Key": "reply-1"}
    first, second = await asyncio.gather(
        ops.client.post(url, json={"text": "We do!"}, headers=keyed),
        ops.client.post(url, json={"text": "We do!"}, headers=keyed),
    )
    again = await ops.client.post(url, json={"text": "We do!"}, headers=keyed)
    assert [r.status_code for r in (first, second, again)] == [201, 201, 201]
    assert first.json()["id"] == second.json()["id"] == again.json()["id"]
    other = await ops.client.post(url, json={"text": "Sorry, no."}, headers=keyed)
    assert (other.status_code, other.json()["code"]) == (409, "idempotency_key_reused")
    unkeyed = await ops.client.post(url, json={"text": "We do!"}, headers=owner)
    assert unkeyed.status_code == 201
    assert unkeyed.json()["id"] != first.json()["id"]
    async with ops.api.runtime.db.session() as session:
        stored = list(
            await session.scalars(
                select(InboxMessage).where(
                    InboxMessage.thread_id == message.thread_id, InboxMessage.direction == "out"
                )
            )
        )
    assert len(stored) == 2
    assert [text for *_, text in sent] == ["We do!", "We do!"]  # the keyed reply once, the unkeyed once
