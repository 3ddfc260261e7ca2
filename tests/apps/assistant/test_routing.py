"""Hybrid routing against local OpenAI-compatible servers: local first, the API fallback when the
local model is saturated, failing or its circuit is open, back to local once it recovers."""

from __future__ import annotations

import asyncio
import re

from conjure.apps.assistant.responders import ChatRequest, Turn
from conjure.apps.assistant.routing import ModelRouter, router_for
from tests.apps.assistant.conftest import MakeChat, hybrid
from tests.apps.assistant.openai_peer import OpenAIPeer


async def test_the_local_model_answers_and_is_recorded(make_chat: MakeChat, local_peer: OpenAIPeer) -> None:
    local_peer.token_delay = 0.005
    chat = await make_chat(**hybrid(local_peer))
    conversation = await chat.conversation()
    await chat.send(conversation, "Hi, my name is Dao.")
    [completed] = await chat.events("message.completed")
    assert (completed["text"], completed["model"], completed["route"]) == (
        local_peer.reply,
        local_peer.model,
        "local",
    )
    assert completed["output_tokens"] == len(local_peer.reply.split())  # the server's own usage
    # The message speaks of its writer: the memory's extraction asks the model too (its own call).
    [call] = [c for c in local_peer.chat_calls() if "Answer with JSON only" not in str(c["body"])]
    sent = call["body"]
    assert (sent["model"], sent["stream"]) == (local_peer.model, True)
    assert sent["messages"][0]["role"] == "system"
    assert sent["messages"][-1] == {"role": "user", "content": "Hi, my name is Dao."}
    items = await chat.answered(conversation, 1)
    assert (items[1]["model"], items[1]["route"]) == (local_peer.model, "local")
    metrics = (await chat.client.get("/metrics")).text
    assert re.search(r'conjure_assistant_answers_total\{route="local",side="local"\} [1-9]', metrics)
    assert 'conjure_assistant_first_token_seconds_count{side="local"}' in metrics


async def test_a_saturated_local_model_sends_the_overflow_to_the_api(
    make_chat: MakeChat, local_peer: OpenAIPeer, api_peer: OpenAIPeer
) -> None:
    local_peer.reply = " ".join(["word"] * 20)
    local_peer.token_delay = 0.04  # about 0.8 s an answer
    chat = await make_chat(
        **hybrid(local_peer, api_peer, assistant_local_max_concurrency=1, assistant_local_max_wait_ms=100)
    )
    first, second = await chat.conversation(), await chat.conversation()
    await chat.send(first, "First conversation")
    await asyncio.sleep(0.2)  # the first answer is streaming on the local model's only slot
    await chat.send(second, "Second conversation")
    completed = await chat.events("message.completed", count=2)
    routes = {c["route"]: c["model"] for c in completed}
    assert routes == {"local": local_peer.model, "fallback:saturated": "gpt-4o-mini"}
    assert local_peer.peak == 1
    assert len(api_peer.chat_calls()) == 1
    metrics = (await chat.client.get("/metrics")).text
    assert re.search(
        r'conjure_assistant_answers_total\{route="fallback:saturated",side="fallback"\} [1-9]', metrics
    )


async def test_a_wait_for_a_local_slot_longer_than_allowed_goes_to_the_api(
    make_chat: MakeChat, local_peer: OpenAIPeer, api_peer: OpenAIPeer
) -> None:
    """The expected wait is an average: a message whose wait for a slot runs past
    ASSISTANT_LOCAL_MAX_WAIT_MS after all goes to the fallback then, and no slot is lost (a wait
    canceled midway gives back nothing it did not take)."""
    local_peer.reply = " ".join(["word"] * 30)
    local_peer.token_delay = 0.1  # about 3 s an answer: a loaded machine's slow API call still ends first
    chat = await make_chat(
        **hybrid(local_peer, api_peer, assistant_local_max_concurrency=1, assistant_local_max_wait_ms=300)
    )
    router = router_for(chat.api.runtime.settings)
    assert isinstance(router, ModelRouter)
    router.call_seconds = 0.05  # recent calls were quick: a wait for the slot is expected to be short

    def ask(text: str) -> ChatRequest:
        return ChatRequest(history=[Turn("user", text)])

    async def quiet(_: str) -> None:
        return None

    first = asyncio.create_task(router.answer(ask("first"), quiet))
    await asyncio.sleep(0.2)  # the first answer holds the only slot
    started = asyncio.get_running_loop().time()
    second = await router.answer(ask("second"), quiet)
    waited = asyncio.get_running_loop().time() - started
    assert second.route == "fallback:saturated"
    assert not first.done()  # it went to the API before the slot came free, not after
    assert 0.3 <= waited < 2.0  # the allowed wait, not the ~3 s until the slot came free
    canceled = asyncio.create_task(router.answer(ask("third"), quiet))
    await asyncio.sleep(0.1)
    canceled.cancel()
    assert (await first).route == "local"
    await asyncio.sleep(0)
    assert canceled.cancelled()
    assert router.slots._value == 1  # every slot back: none taken by a wait that gave up
    assert local_peer.peak == 1
    assert len(api_peer.chat_calls()) == 1


async def test_failures_fall_back_open_the_circuit_then_local_recovers(
    make_chat: MakeChat, local_peer: OpenAIPeer, api_peer: OpenAIPeer
) -> None:
    local_peer.fail_next = 2
    chat = await make_chat(
        **hybrid(local_peer, api_peer, ai_breaker_failures=2, ai_breaker_cooldown_seconds=0.5)
    )
    # The breaker's clock is the test's: on a loaded box the cooldown would pass between messages.
    router = router_for(chat.api.runtime.settings)
    assert isinstance(router, ModelRouter)
    now = [0.0]
    router.breaker.clock = lambda: now[0]
    conversation = await chat.conversation()
    routes = []
    for count, text in enumerate(["one", "two", "three"], start=1):
        await chat.send(conversation, text)
        routes.append((await chat.events("message.completed", count=count))[-1]["route"])
    assert routes == ["fallback:error", "fallback:error", "fallback:circuit_open"]
    assert len(local_peer.calls) == 2  # the open circuit kept the third call off the local server
    now[0] += 0.6  # the cooldown passes: one trial call goes local, and it succeeds
    await chat.send(conversation, "four")
    recovered = (await chat.events("message.completed", count=4))[-1]
    assert (recovered["route"], recovered["model"]) == ("local", local_peer.model)
    items = await chat.answered(conversation, 4)
    assert [m["route"] for m in items if m["role"] == "assistant"] == [*routes, "local"]


async def test_without_a_fallback_a_failing_local_model_answers_offline(
    make_chat: MakeChat, local_peer: OpenAIPeer
) -> None:
    local_peer.fail_next = 1
    chat = await make_chat(**hybrid(local_peer))
    await chat.send(await chat.conversation(), "Are you there?")
    [completed] = await chat.events("message.completed")
    assert (completed["route"], completed["model"]) == ("offline:local_error", "offline")
    assert completed["text"].startswith("I'm running offline")


async def test_ready_reports_warming_until_the_local_model_answers(
    make_chat: MakeChat, local_peer: OpenAIPeer
) -> None:
    local_peer.first_token_delay = 0.4  # the model loading on its first call
    chat = await make_chat(**hybrid(local_peer))
    first = await chat.client.get("/ready")
    assert first.status_code == 200
    assert first.json()["checks"]["assistant_model"] == "warming"
    router = router_for(chat.api.runtime.settings)
    assert isinstance(router, ModelRouter)
    assert router.warm_up_task is not None
    await router.warm_up_task
    assert (await chat.client.get("/ready")).json()["checks"]["assistant_model"] == "ok"
    assert router.load_seconds is not None
    assert 0.4 <= router.load_seconds < 5
    assert len(local_peer.chat_calls()) == 1
    assert "conjure_assistant_model_load_seconds" in (await chat.client.get("/metrics")).text
