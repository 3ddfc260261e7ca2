"""Delegation: the assistant offers another app's job with its price, submits it on a yes as a
child of the answer's job (charged once), brings its result into the conversation; cancel propagates.
A message may carry the sender's uploaded photo: staging its room is offered the same way."""

from __future__ import annotations

import time
import uuid

import pytest
from sqlalchemy import func, select

from conjure.jobs.models import Job, JobStatus
from tests.apps.assistant.conftest import Chat
from tests.apps.conftest import MakeApi
from tests.apps.staging.conftest import room_photo, send_upload

ASK = "Could you do a tarot reading about my new job?"


async def test_a_yes_runs_the_reading_charged_once_into_the_conversation(chat: Chat) -> None:
    user_id = chat.user_id
    conversation = await chat.conversation()
    asked = await chat.send(conversation, ASK)
    [offered] = await chat.events("message.completed")
    assert offered["text"].endswith(
        f"I can do a tarot reading on “{ASK}” for 1 star. Shall I go ahead? (yes / no)"
    )
    assert offered["tool"]["offer"]["kind"] == "tarot.reading"
    assert await chat.api.balances(await _user(chat, user_id)) == (3, 0)  # nothing without a yes
    started = time.perf_counter()
    accepted = await chat.send(conversation, "Yes please")
    answer_job = uuid.UUID(accepted["job_id"])
    async with chat.api.runtime.db.session() as session:
        [child] = (await session.scalars(select(Job).where(Job.parent_job_id == answer_job))).all()
    assert time.perf_counter() - started < 5.0  # accepted and submitted within the seed's 5 s
    assert (child.kind, child.payload) == ("tarot.reading", {"question": ASK})
    completed = (await chat.events("message.completed", count=2))[-1]
    assert (completed["route"], completed["model"]) == ("tool:tarot", "delegation")
    assert completed["text"].startswith("Starting your tarot reading (1 star")
    assert "Your cards:" in completed["text"]
    assert completed["tool"]["delegated"]["job_id"] == str(child.id)
    assert completed["tool"]["child_status"] == "succeeded"
    view = (await chat.client.get(f"/api/v1/jobs/{answer_job}", headers=chat.headers)).json()
    assert view["children"] == [{"id": str(child.id), "kind": "tarot.reading", "status": "succeeded"}]
    assert await chat.api.balances(await _user(chat, user_id)) == (2, 0)  # the reading, once
    items = await chat.answered(conversation, 2)
    assert items[0]["id"] == asked["message_id"]
    assert items[0]["tool"]["offer"]["status"] == "accepted"
    assert items[3]["tool"]["delegated"]["kind"] == "tarot.reading"


async def test_a_no_lets_the_offer_lapse(chat: Chat) -> None:
    conversation = await chat.conversation()
    await chat.send(conversation, "Can you draw a picture of a cat in a spacesuit?")
    [offered] = await chat.events("message.completed")
    assert "make an image of" in offered["text"]
    await chat.send(conversation, "No, not now")
    await chat.events("message.completed", count=2)
    items = await chat.answered(conversation, 2)
    assert items[0]["tool"]["offer"]["status"] == "lapsed"
    async with chat.api.runtime.db.session() as session:
        assert await session.scalar(select(func.count()).where(Job.parent_job_id.is_not(None))) == 0


async def test_canceling_the_answer_cancels_the_queued_child(
    make_api: MakeApi, backend: dict[str, str]
) -> None:
    api = await make_api(**backend)  # no worker: everything stays queued
    user, headers = await api.user(stars=3)
    chat = Chat(api, headers, user.id)
    conversation = await chat.conversation()
    await chat.send(conversation, ASK)
    accepted = await chat.send(conversation, "ok")
    assert await api.balances(user) == (3, 1)  # the reading's star is held
    canceled = await api.client.post(f"/api/v1/jobs/{accepted['job_id']}/cancel", headers=headers)
    assert canceled.json()["status"] == "canceled"
    async with api.runtime.db.session() as session:
        [child] = (
            await session.scalars(select(Job).where(Job.parent_job_id == uuid.UUID(accepted["job_id"])))
        ).all()
    assert (child.status, child.error_code) == (JobStatus.CANCELED, "parent_canceled")
    assert await api.balances(user) == (3, 0)


async def test_a_yes_without_stars_is_refused_and_nothing_is_stored(
    make_api: MakeApi, sqlite_url: str
) -> None:
    api = await make_api(database_url=sqlite_url)
    user, headers = await api.user(stars=0)
    chat = Chat(api, headers, user.id)
    conversation = await chat.conversation()
    await chat.send(conversation, ASK)
    refused = await api.client.post(
        f"/api/v1/assistant/conversations/{conversation}/messages", json={"content": "yes"}, headers=headers
    )
    assert (refused.status_code, refused.json()["code"]) == (402, "insufficient_stars")
    page = (
        await api.client.get(f"/api/v1/assistant/conversations/{conversation}/messages", headers=headers)
    ).json()
    assert page["total"] == 1


async def _user(chat: Chat, user_id: uuid.UUID) -> object:
    from conjure.users.models import User

    async with chat.api.runtime.db.session() as session:
        return await session.get(User, user_id)


async def upload_photo(chat: Chat, headers: dict[str, str] | None = None) -> str:
    """Presign and upload a room photo the way the page does; its key."""
    photo = room_photo()
    body = {"filename": "room.jpg", "content_type": "image/jpeg", "size": len(photo)}
    presign = await chat.client.post("/api/v1/uploads/presign", json=body, headers=headers or chat.headers)
    assert presign.status_code == 200, presign.text
    presigned = presign.json()
    sent = await send_upload(chat.client, presigned, photo)
    assert sent.status_code in (200, 201, 204), sent.text
    return str(presigned["key"])


async def test_a_photo_becomes_a_staging_offer_and_a_yes_stages_it(chat: Chat) -> None:
    conversation = await chat.conversation()
    key = await upload_photo(chat)
    asked = await chat.client.post(
        f"/api/v1/assistant/conversations/{conversation}/messages",
        json={"content": "Could you stage my bedroom as Scandinavian?", "photo_key": key},
        headers=chat.headers,
    )
    assert asked.status_code == 202, asked.text
    [offered] = await chat.events("message.completed")
    assert offered["text"].endswith(
        "I can stage the bedroom in your photo in the Scandinavian style for 1 star."
        " Shall I go ahead? (yes / no)"
    )
    assert offered["tool"]["offer"]["payload"] == {
        "upload_key": key,
        "room_type": "bedroom",
        "style": "scandinavian",
        "quality": "standard",
    }
    [mine] = (await chat.answered(conversation, 1))[:1]
    assert mine["tool"]["offer"]["kind"] == "staging.stage"
    assert "photo" not in mine["tool"]
    shown = await chat.client.get(mine["photo_url"])
    assert (shown.status_code, shown.content) == (200, room_photo())
    accepted = await chat.send(conversation, "yes, go ahead")
    async with chat.api.runtime.db.session() as session:
        [child] = (
            await session.scalars(select(Job).where(Job.parent_job_id == uuid.UUID(accepted["job_id"])))
        ).all()
    assert (child.kind, child.payload["upload_key"], child.user_id) == ("staging.stage", key, chat.user_id)
    completed = (await chat.events("message.completed", count=2, timeout=40))[-1]
    assert (completed["route"], completed["tool"]["child_status"]) == ("tool:staging", "succeeded")
    assert completed["text"].startswith("Starting your staged room (1 star")
    assert "Your staged room is ready: " in completed["text"]
    staged = await chat.client.get(completed["tool"]["image_url"])
    assert staged.status_code == 200
    assert staged.content[:3] == b"\xff\xd8\xff"  # a JPEG, the staged room
    assert await chat.api.balances(await _user(chat, chat.user_id)) == (2, 0)  # charged once
    items = await chat.answered(conversation, 2)
    assert items[0]["tool"]["offer"]["status"] == "accepted"
    resigned = await chat.client.get(items[3]["tool"]["image_url"])  # signed again when read
    assert resigned.content == staged.content
    projects = (await chat.client.get("/api/v1/projects", headers=chat.headers)).json()["items"]
    assert [(p["name"], p["image_count"]) for p in projects] == [("From the assistant", 1)]


async def test_a_photo_without_a_staging_request_gets_no_offer(chat: Chat) -> None:
    conversation = await chat.conversation()
    key = await upload_photo(chat)
    await chat.client.post(
        f"/api/v1/assistant/conversations/{conversation}/messages",
        json={"content": "What do you think of this?", "photo_key": key},
        headers=chat.headers,
    )
    [answer] = await chat.events("message.completed")
    assert answer["tool"] is None
    assert "Shall I go ahead" not in answer["text"]


async def test_only_the_senders_own_uploaded_photo_is_accepted(make_api: MakeApi, sqlite_url: str) -> None:
    api = await make_api(database_url=sqlite_url)
    user, headers = await api.user(stars=3)
    _, other_headers = await api.user(stars=3)
    chat = Chat(api, headers, user.id)
    conversation = await chat.conversation()
    theirs = await upload_photo(chat, other_headers)
    never_uploaded = f"uploads/user_{user.id}/{uuid.uuid4()}.jpg"
    for key in (theirs, never_uploaded, f"uploads/user_{user.id}/../x.jpg", f"staged/user_{user.id}/a.jpg"):
        refused = await api.client.post(
            f"/api/v1/assistant/conversations/{conversation}/messages",
            json={"content": "Stage this room as modern", "photo_key": key},
            headers=headers,
        )
        assert (refused.status_code, refused.json()["code"]) == (404, "photo_not_found"), key
    page = (
        await api.client.get(f"/api/v1/assistant/conversations/{conversation}/messages", headers=headers)
    ).json()
    assert page["total"] == 0


@pytest.mark.parametrize(
    ("reply", "accepted"),
    [
        ("yes", True),
        ("Yes, go ahead", True),
        ("ok!", True),
        ("ใช่", True),  # Thai words end in tone marks, where a regex's \b sees no word boundary
        ("ใช่ ทำเลย", True),
        ("ใช่ค่ะ", True),
        ("ตกลง", True),
        ("เอาเลย", True),
        ("ได้เลยครับ", True),
        ("ไม่", False),
        ("ไม่ ขอบคุณ", False),
        ("ไม่เอา", False),
        ("ไม่ใช่", False),
        ("No, thanks", False),
        ("yesterday was fun", False),
        ("okra soup recipe?", False),
    ],
)
def test_a_yes_in_english_or_thai_accepts_the_offer(reply: str, accepted: bool) -> None:
    from conjure.apps.assistant.delegation import says_yes

    assert says_yes(reply) is accepted


@pytest.mark.parametrize(
    "text",
    [
        "Can you do a tarot reading about my new job?",
        "ช่วยดูดวงเรื่องงานใหม่ให้หน่อย",  # no space before ดูดวง, as Thai is written
        "อยากดูไพ่ทาโรต์เรื่องความรัก",
        "ขอดูไพ่เรื่องการเงินเดือนนี้",
    ],
)
def test_a_tarot_request_in_english_or_thai_gets_an_offer(text: str) -> None:
    from conjure.apps.assistant.delegation import TAROT_KIND, detect_offer

    offer = detect_offer(text, {TAROT_KIND: 1})
    assert offer is not None
    assert (offer.tool, offer.price_stars) == ("tarot", 1)
