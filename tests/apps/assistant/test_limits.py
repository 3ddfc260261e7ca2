"""Price and limits: the day's free messages, then a star each through the wallet; the per-person
message rate limit."""

from __future__ import annotations

from tests.apps.assistant.conftest import Chat, MakeChat

BASE = "/api/v1/assistant/conversations"


async def _balance(chat: Chat) -> tuple[int, int]:
    from conjure.users.models import User

    async with chat.api.runtime.db.session() as session:
        user = await session.get(User, chat.user_id)
        assert user is not None
        return user.star_balance, user.stars_held


async def test_past_the_free_messages_each_answer_costs_a_star(make_chat: MakeChat) -> None:
    chat = await make_chat(assistant_daily_messages=1)
    conversation = await chat.conversation()
    free = await chat.send(conversation, "First one is free")
    await chat.events("message.completed")
    paid = await chat.send(conversation, "Second one costs")
    assert (free["priced"], paid["priced"]) == (False, True)
    completed = (await chat.events("message.completed", count=2))[-1]
    assert completed["price_stars"] == 1
    assert await _balance(chat) == (2, 0)  # charged once the answer was stored
    poor = await chat.api.user(stars=0)
    other = Chat(chat.api, poor[1], poor[0].id)
    mine = await other.conversation()
    await other.send(mine, "free")
    refused = await chat.client.post(
        f"{BASE}/{mine}/messages", json={"content": "again"}, headers=other.headers
    )
    assert (refused.status_code, refused.json()["code"]) == (402, "insufficient_stars")


async def test_messages_are_rate_limited_per_person(make_chat: MakeChat) -> None:
    chat = await make_chat(assistant_messages_rate_limit="2/minute", assistant_max_pending_messages=10)
    conversation = await chat.conversation()
    for text in ("one", "two"):
        await chat.send(conversation, text)
    limited = await chat.client.post(
        f"{BASE}/{conversation}/messages", json={"content": "three"}, headers=chat.headers
    )
    assert (limited.status_code, limited.json()["code"]) == (429, "rate_limited")
    assert "retry-after" in {k.lower() for k in limited.headers}


async def test_a_paid_plan_raises_the_days_free_messages(make_chat: MakeChat) -> None:
    import datetime as dt

    from conjure.billing.models import Subscription

    chat = await make_chat(assistant_daily_messages=1)
    now = dt.datetime.now(dt.UTC)
    async with chat.api.runtime.db.session() as session:
        # As the billing job records a paid "plus" subscription (its plan allows 200 a day).
        session.add(
            Subscription(
                user_id=chat.user_id,
                stripe_subscription_id="sub_plus",
                stripe_customer_id="cus_plus",
                plan_id="plus",
                period_plan_id="plus",
                status="active",
                current_period_start=now - dt.timedelta(days=1),
                current_period_end=now + dt.timedelta(days=29),
            )
        )
    conversation = await chat.conversation()
    sent = [await chat.send(conversation, f"message {n}") for n in range(3)]
    assert [m["priced"] for m in sent] == [False, False, False]
    await chat.events("message.completed", count=3)
    assert await _balance(chat) == (3, 0)  # nothing charged


async def test_text_the_database_cannot_store_is_a_422_and_nothing_is_kept(
    make_chat: MakeChat, pg_url: str
) -> None:
    """PostgreSQL refuses NUL in text; a message's schema refuses it first, naming the field, as on
    SQLite, and so does a sign-up's invite code; nothing is written. (The net under a schema that
    would let it through, 422 invalid_text: tests/platform/test_dbfaults.py.)"""
    chat = await make_chat(database_url=pg_url)
    conversation = await chat.conversation()
    # As JSON escapes, as a client sends them (a lone surrogate cannot be UTF-8 on the wire).
    # (A lone surrogate is refused before the route, as a validation_error.)
    for content in ("before\\u0000after", "lone \\ud800 surrogate"):
        refused = await chat.client.post(
            f"{BASE}/{conversation}/messages",
            content=f'{{"content": "{content}"}}',
            headers={**chat.headers, "content-type": "application/json"},
        )
        assert refused.status_code == 422, refused.text
        assert refused.json()["code"] == "validation_error"
        assert refused.headers["content-type"].startswith("application/problem+json")
    listed = await chat.client.get(f"{BASE}/{conversation}/messages", headers=chat.headers)
    assert listed.json()["total"] == 0
    await chat.send(conversation, "A plain message still goes through")
    signup = '{"email": "nul@example.com", "password": "correct horse battery", "invite_code": "AB\\u0000C"}'
    refused = await chat.client.post(
        "/api/v1/auth/signup", content=signup, headers={"content-type": "application/json"}
    )
    assert (refused.status_code, refused.json()["code"]) == (422, "validation_error")
    assert refused.headers["content-type"].startswith("application/problem+json")
    login = {"email": "nul@example.com", "password": "correct horse battery"}
    assert (await chat.client.post("/api/v1/auth/login", json=login)).status_code == 401
