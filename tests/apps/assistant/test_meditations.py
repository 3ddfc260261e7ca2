"""Guided meditations: audio of the asked length (± 10 %) that decodes, progress per segment,
the price charged on success and released on cancel; eSpeak NG offline, an API voice online
behind the speech circuit breaker."""

from __future__ import annotations

import asyncio
import json
import subprocess
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from conjure.ai.breaker import CLOSED, OPEN, breaker_for
from conjure.apps.assistant.meditations import make_meditation
from conjure.apps.assistant.script import meditation_language, write_script
from conjure.apps.assistant.speech import EspeakSpeaker, make_speaker
from conjure.apps.assistant.thai import is_thai
from conjure.jobs.models import JobEvent
from conjure.jobs.registry import JobDeferred, PermanentJobError, RetryableJobError
from conjure.settings import Settings
from conjure.storage.local import LocalObjectStore
from tests.apps.assistant.conftest import Chat, MakeChat
from tests.apps.assistant.openai_peer import OpenAIPeer
from tests.apps.imagegen.fakes import FakeJobContext, fake_runtime

BASE = "/api/v1/assistant/meditations"


async def wait_meditation(
    chat: Chat, meditation_id: str, *statuses: str, timeout: float = 60.0
) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        body: dict[str, Any] = (await chat.client.get(f"{BASE}/{meditation_id}", headers=chat.headers)).json()
        if body["status"] in statuses:
            return body
        assert loop.time() < deadline, body
        await asyncio.sleep(0.1)


async def test_a_meditation_has_the_asked_length_and_plays(make_chat: MakeChat, tmp_path: Path) -> None:
    chat = await make_chat()
    response = await chat.client.post(BASE, json={"theme": "sleep", "minutes": 3}, headers=chat.headers)
    assert response.status_code == 202, response.text
    accepted = response.json()
    done = await wait_meditation(chat, accepted["meditation_id"], "ready", "failed")
    assert done["status"] == "ready", done
    assert 162 <= done["duration_seconds"] <= 198
    assert (done["language"], done["script"][0][:8]) == ("en", "Welcome.")
    audio = await chat.client.get(done["audio_url"])
    assert audio.status_code == 200
    path = tmp_path / "meditation.ogg"
    path.write_bytes(audio.content)
    decoded = float(
        subprocess.run(["soxi", "-D", str(path)], capture_output=True, text=True, check=True).stdout
    )
    assert 162 <= decoded <= 198
    stats = subprocess.run(
        ["sox", str(path), "-n", "stat"], capture_output=True, text=True, check=True
    ).stderr
    assert float(stats.split("Maximum amplitude:")[1].split()[0]) > 0.05  # someone speaks
    async with chat.api.runtime.db.session() as session:
        rows = await session.scalars(
            select(JobEvent.data)
            .where(JobEvent.job_id == uuid.UUID(accepted["job_id"]))
            .order_by(JobEvent.seq)
        )
        steps = [d["data"] for d in rows.all() if d.get("step") == "voicing"]
    assert [s["segment"] for s in steps] == list(range(1, steps[0]["segments"] + 1))
    assert await _balance(chat) == (1, 0)  # 3 stars, 2 for the meditation


async def test_an_api_voice_is_used_and_cancel_releases_the_hold(
    make_chat: MakeChat, api_peer: OpenAIPeer
) -> None:
    api_peer.speech_delay = 0.4
    chat = await make_chat(assistant_tts_base_url=api_peer.url, assistant_tts_voice="sage")
    accepted = (
        await chat.client.post(BASE, json={"theme": "focus", "minutes": 5}, headers=chat.headers)
    ).json()
    running = await wait_meditation(chat, accepted["meditation_id"], "processing")
    assert await _balance(chat) == (3, 2)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 20
    while not (running.get("progress") or {}).get("data", {}).get("segment"):
        assert loop.time() < deadline, running
        await asyncio.sleep(0.05)
        running = await wait_meditation(chat, accepted["meditation_id"], "processing", "ready")
    canceled = await chat.client.post(f"/api/v1/jobs/{accepted['job_id']}/cancel", headers=chat.headers)
    assert canceled.status_code == 200, canceled.text
    done = await wait_meditation(chat, accepted["meditation_id"], "canceled", "ready")
    assert done["status"] == "canceled"
    assert done["audio_url"] is None
    assert await _balance(chat) == (3, 0)  # the hold released, nothing charged
    speech = [c["body"] for c in api_peer.calls if c["path"].endswith("/audio/speech")]
    assert speech
    assert (speech[0]["model"], speech[0]["voice"], speech[0]["response_format"]) == (
        "gpt-4o-mini-tts",
        "sage",
        "wav",
    )


async def test_length_and_theme_are_checked(make_chat: MakeChat) -> None:
    chat = await make_chat()
    for body in (
        {"theme": "sleep", "minutes": 2},
        {"theme": "sleep", "minutes": 21},
        {"theme": " ", "minutes": 5},
        {"theme": "sleep", "minutes": 5, "language": "fr"},
    ):
        response = await chat.client.post(BASE, json=body, headers=chat.headers)
        assert response.status_code == 422, body


async def test_a_thai_meditation_is_written_and_voiced_in_thai(make_chat: MakeChat) -> None:
    chat = await make_chat()
    body = {"theme": "การนอนหลับ", "minutes": 3, "language": "th-TH"}
    response = await chat.client.post(BASE, json=body, headers=chat.headers)
    assert response.status_code == 202, response.text
    done = await wait_meditation(chat, response.json()["meditation_id"], "ready", "failed")
    assert done["status"] == "ready", done
    assert 162 <= done["duration_seconds"] <= 198
    assert done["language"] == "th"
    # The Thai lines, the sleep theme's among them, every one in Thai.
    assert done["script"] == [s.text for s in write_script("การนอนหลับ", 3, "th")]
    assert all(is_thai(line) for line in done["script"])


async def test_a_theme_written_in_thai_on_an_english_page_gives_a_thai_meditation(
    make_chat: MakeChat,
) -> None:
    chat = await make_chat()
    body = {"theme": "ปล่อยวาง", "minutes": 3}  # no language: the page's English
    response = await chat.client.post(BASE, json=body, headers=chat.headers)
    assert response.status_code == 202, response.text
    meditation_id = response.json()["meditation_id"]
    queued = (await chat.client.get(f"{BASE}/{meditation_id}", headers=chat.headers)).json()
    assert queued["language"] == "th"  # said from the start, not only once written
    done = await wait_meditation(chat, meditation_id, "ready", "failed")
    assert (done["status"], done["language"]) == ("ready", "th"), done
    assert done["script"] == [s.text for s in write_script("ปล่อยวาง", 3, "th")]
    assert all(is_thai(line) for line in done["script"])  # no English line quoting the Thai theme


def test_the_meditation_language_is_the_pages_unless_the_theme_is_written_in_thai() -> None:
    assert meditation_language("sleep", "en") == "en"
    assert meditation_language("letting go", "th") == "th"  # a Thai page keeps Thai
    assert meditation_language("การนอนหลับ", "en") == "th"  # a named theme, in Thai
    assert meditation_language("ปล่อยวาง before my exam", "en") == "th"  # Thai in a mixed theme
    # Every line of the resulting script is in one language: none mixes Thai into English.
    for theme in ("ปล่อยวาง", "ความเครียด", "letting go", "focus"):
        lines = [s.text for s in write_script(theme, 14, meditation_language(theme, "en"))]
        assert all(is_thai(line) for line in lines) or not any(is_thai(line) for line in lines)


def test_a_thai_script_has_the_english_structure_and_reads_its_themes() -> None:
    for minutes in (3, 8, 20):
        english, thai = write_script("stress", minutes), write_script("ความเครียด", minutes, "th")
        assert [s.pause_weight for s in thai] == [s.pause_weight for s in english]
        assert all(is_thai(s.text) for s in thai)
    assert "เรื่องที่รอคุณอยู่ รอได้อีกสักครู่ค่ะ" in [s.text for s in write_script("ความเครียด", 14, "th")]
    other = [s.text for s in write_script("letting go", 14, "th")]
    assert "นึกถึง letting go โอบไว้อย่างอ่อนโยน โดยไม่ต้องเปลี่ยนแปลงอะไร" in other


def test_espeak_reads_thai_with_its_thai_voice(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings()
    thai, english = make_speaker(settings, None, "th"), make_speaker(settings, None, "en")
    assert isinstance(thai, EspeakSpeaker)
    assert isinstance(english, EspeakSpeaker)
    assert (thai.voice, english.voice) == ("th", "en-us")
    named = make_speaker(settings, "th+f3", "th")
    assert isinstance(named, EspeakSpeaker)
    assert named.voice == "th+f3"


async def test_a_voice_that_cannot_speak_fails_at_once_with_a_clear_code(
    make_settings: Callable[..., Settings], tmp_path: Path, api_peer: OpenAIPeer
) -> None:
    store = LocalObjectStore(tmp_path / "objects", secret="s" * 40, base_url="http://test")
    payload = {"theme": "การนอนหลับ", "minutes": 3, "voice": None, "language": "th"}
    missing = make_settings(assistant_espeak_voice_th="xx-none")
    with pytest.raises(PermanentJobError) as failed:
        await make_meditation(FakeJobContext(runtime=fake_runtime(missing, store), payload=payload))
    assert failed.value.code == "speech_refused"
    assert "xx-none" in str(failed.value)
    online = make_settings(assistant_tts_base_url=api_peer.url)
    api_peer.speech_fail_status = 400  # the service refuses the request: no retry can help
    with pytest.raises(PermanentJobError) as refused:
        await make_meditation(FakeJobContext(runtime=fake_runtime(online, store), payload=payload))
    assert refused.value.code == "speech_refused"
    api_peer.speech_fail_status = 0
    done = await make_meditation(FakeJobContext(runtime=fake_runtime(online, store), payload=payload))
    assert done["language"] == "th"
    sent = [c["input"] for c in (call["body"] for call in _speech_calls(api_peer))]
    assert sent[-len(done["script"]) :] == done["script"]  # the Thai text as it is


THAI_PARTS = [
    "ยินดีต้อนรับค่ะ นั่งให้สบาย แล้วค่อยๆ หลับตาลง",
    "หายใจเข้าช้าๆ แล้วผ่อนลมหายใจออกยาวๆ",
    "ปล่อยความกังวลของวันนี้ให้ลอยออกไปกับลมหายใจ",
    "ค่อยๆ กลับมา แล้วลืมตาขึ้นเมื่อพร้อมค่ะ",
]


async def test_a_model_writes_the_thai_script_when_one_is_configured(
    make_settings: Callable[..., Settings], tmp_path: Path, local_peer: OpenAIPeer
) -> None:
    settings = make_settings(assistant_local_base_url=local_peer.url)
    store = LocalObjectStore(tmp_path / "objects", secret="s" * 40, base_url="http://test")
    payload = {"theme": "ปล่อยวาง", "minutes": 3, "voice": None, "language": "th"}
    local_peer.reply = json.dumps({"parts": THAI_PARTS})
    context = FakeJobContext(runtime=fake_runtime(settings, store), payload=payload)
    done = await make_meditation(context)
    assert (done["script"], done["written_by"], done["language"]) == (THAI_PARTS, local_peer.model, "th")
    assert [u["step"] for u in context.usage] == ["script", "speech"]
    assert context.steps[0] == "writing"
    [asked] = [c["body"]["messages"][-1]["content"] for c in local_peer.chat_calls()]
    assert "in Thai, as exactly 4 parts" in asked
    assert "ปล่อยวาง" in asked
    # English parts for a Thai script (or any other shape) are no answer: the offline Thai script.
    local_peer.reply = json.dumps({"parts": ["Welcome.", "Breathe in.", "Let go.", "Come back."]})
    fallback = await make_meditation(FakeJobContext(runtime=fake_runtime(settings, store), payload=payload))
    assert fallback["written_by"] == "offline"
    assert fallback["script"] == [s.text for s in write_script("ปล่อยวาง", 3, "th")]


async def _balance(chat: Chat) -> tuple[int, int]:
    from conjure.users.models import User

    async with chat.api.runtime.db.session() as session:
        user = await session.get(User, chat.user_id)
        assert user is not None
        return user.star_balance, user.stars_held


class Clock:
    now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_an_open_speech_breaker_defers_the_meditation_without_calling_the_voice(
    make_settings: Callable[..., Settings], tmp_path: Path, api_peer: OpenAIPeer
) -> None:
    settings = make_settings(
        assistant_tts_base_url=api_peer.url, ai_breaker_failures=2, ai_breaker_cooldown_seconds=30
    )
    store = LocalObjectStore(tmp_path / "objects", secret="s" * 40, base_url="http://test")

    def context() -> FakeJobContext:
        return FakeJobContext(
            runtime=fake_runtime(settings, store), payload={"theme": "sleep", "minutes": 3, "voice": None}
        )

    breaker = breaker_for("speech-gpt-4o-mini-tts", settings, service="speech")
    clock = breaker.clock = Clock()
    api_peer.speech_fail_status = 503
    for _ in range(2):
        with pytest.raises(RetryableJobError) as failed:
            await make_meditation(context())
        assert not isinstance(failed.value, JobDeferred)  # the voice was called: an attempt spent
    assert breaker.state == OPEN
    called = len(_speech_calls(api_peer))
    assert called == 2
    clock.now += 10
    with pytest.raises(JobDeferred) as deferred:
        await make_meditation(context())
    assert deferred.value.retry_after == pytest.approx(20)
    assert len(_speech_calls(api_peer)) == called  # not called while open
    api_peer.speech_fail_status = 0
    clock.now += 20
    done = await make_meditation(context())  # the trial call goes through and closes it
    assert done["voice"] == "gpt-4o-mini-tts"
    assert breaker.state == CLOSED


def _speech_calls(peer: OpenAIPeer) -> list[dict[str, Any]]:
    return [c for c in peer.calls if c["path"].endswith("/audio/speech")]
