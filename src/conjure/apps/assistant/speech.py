"""Speech for meditations: an API text-to-speech model (OpenAI-compatible ``/v1/audio/speech``)
or, offline, eSpeak NG; SoX converts every clip to one format and encodes the stitched audio.

Both binaries come from Debian (``scripts/system-deps.sh``). Audio is handled as 16-bit mono
PCM at :data:`RATE` between the steps, in a scratch directory that is removed afterwards.

The API voice is an outside service: its calls go through the ``speech`` circuit breaker
(:mod:`conjure.ai.breaker`), so after ``AI_BREAKER_FAILURES`` outages in a row the meditation job
is deferred until the cooldown ends (:class:`conjure.jobs.registry.JobDeferred`: no attempt spent,
nothing charged) instead of failing segment after segment.

Thai: eSpeak NG reads a Thai script with its Thai voice (``ASSISTANT_ESPEAK_VOICE_TH``, ``th``;
an English voice would spell out every Thai letter, many times too long); an API voice is sent
the Thai text as it is (OpenAI's speech models read Thai; the voice names are the same in every
language). A voice that does not exist, or a request the service refuses (a 4xx other than
408/409/429), is a :class:`SpeechError` with ``permanent``: the job fails at once with a clear
code instead of retrying what cannot work.
"""

from __future__ import annotations

import asyncio
import wave
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from conjure.ai.breaker import breaker_for, guard_job_call
from conjure.apps.assistant.phrases import Language
from conjure.apps.assistant.settings import AssistantSettings

if TYPE_CHECKING:
    from conjure.settings import Settings

RATE = 22050


class SpeechError(Exception):
    """A synthesizer or SoX failed; ``transient``: an outage (connection, timeout, 429, 5xx);
    ``permanent``: it cannot work on another try (no such voice, a refused request)."""

    def __init__(self, message: str, *, transient: bool = False, permanent: bool = False) -> None:
        super().__init__(message)
        self.transient = transient
        self.permanent = permanent


def _outage(exc: BaseException) -> bool:
    """What counts against the speech breaker: an outage, not a refused request."""
    return isinstance(exc, SpeechError) and exc.transient


async def run(*command: str) -> bytes:
    """Run a command; its stdout, or :class:`SpeechError` with its stderr."""
    process = await asyncio.create_subprocess_exec(
        *command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await process.communicate()
    if process.returncode != 0:
        raise SpeechError(f"{Path(command[0]).name} failed: {err.decode(errors='replace')[-300:]}")
    return out


async def normalize(source: Path, target: Path) -> float:
    """``source`` as 16-bit mono WAV at RATE in ``target``; its duration in seconds."""
    await run("sox", str(source), "-r", str(RATE), "-c", "1", "-b", "16", "-e", "signed-integer", str(target))
    with wave.open(str(target), "rb") as clip:
        return clip.getnframes() / clip.getframerate()


class Speaker(Protocol):
    name: str

    async def speak(self, text: str, target: Path) -> None:
        """Write ``text`` spoken as an audio file (any format SoX reads) at ``target``."""


class EspeakSpeaker:
    """eSpeak NG, offline: a plain, clear voice (``ASSISTANT_ESPEAK_VOICE``), slowed down."""

    name = "espeak-ng"

    def __init__(self, voice: str, words_per_minute: int) -> None:
        self.voice = voice
        self.wpm = words_per_minute

    async def speak(self, text: str, target: Path) -> None:
        try:
            await run("espeak-ng", "-v", self.voice, "-s", str(self.wpm), "-w", str(target), text)
        except SpeechError as exc:
            if "voice does not exist" in str(exc):
                raise SpeechError(f"eSpeak NG has no voice {self.voice!r}", permanent=True) from exc
            raise


class ApiSpeaker:
    """An OpenAI-compatible speech endpoint (``ASSISTANT_TTS_*``), asked for WAV, behind the
    ``speech`` breaker of the running settings (``AI_BREAKER_*``)."""

    def __init__(self, settings: AssistantSettings, voice: str | None, platform: Settings) -> None:
        base = settings.assistant_tts_base_url.rstrip("/")
        self.base_url = base if base.endswith("/v1") else base + "/v1"
        self.model = settings.assistant_tts_model
        self.voice = voice or settings.assistant_tts_voice
        key = settings.assistant_tts_api_key
        self.api_key = key.get_secret_value() if key else "not-needed"
        self.name = self.model
        self.platform = platform

    async def speak(self, text: str, target: Path) -> None:
        """One clip; :class:`JobDeferred` while the speech breaker is open (the API not called)."""
        breaker = breaker_for(f"speech-{self.model}", self.platform, service="speech")
        await guard_job_call(
            breaker, lambda: self._speak(text, target), transient=_outage, what="The speech service"
        )

    async def _speak(self, text: str, target: Path) -> None:
        import openai

        try:
            async with openai.AsyncOpenAI(
                base_url=self.base_url, api_key=self.api_key, timeout=120.0, max_retries=2
            ) as client:
                response = await client.audio.speech.create(
                    model=self.model, voice=self.voice, input=text, response_format="wav"
                )
                target.write_bytes(response.content)
        except openai.APIStatusError as exc:
            transient = exc.status_code in (408, 409, 429) or exc.status_code >= 500
            raise SpeechError(
                f"speech failed: HTTP {exc.status_code}", transient=transient, permanent=not transient
            ) from exc
        except openai.OpenAIError as exc:  # connection trouble, timeouts
            raise SpeechError(f"speech failed: {type(exc).__name__}", transient=True) from exc


def make_speaker(settings: Settings, voice: str | None, language: Language = "en") -> Speaker:
    """The API voice when ``ASSISTANT_TTS_BASE_URL`` is set, else eSpeak NG (its Thai voice for
    a Thai script, unless the request named a voice)."""
    app = settings.for_app(AssistantSettings)
    if app.assistant_tts_base_url:
        return ApiSpeaker(app, voice, settings)
    default = app.assistant_espeak_voice_th if language == "th" else app.assistant_espeak_voice
    return EspeakSpeaker(voice or default, app.assistant_speech_wpm)


def stitch(clips: list[Path], pauses: list[float], target: Path) -> float:
    """Clips (normalized) with the silence after each, as one WAV; its duration in seconds."""
    frames = 0
    with wave.open(str(target), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        for clip_path, pause in zip(clips, pauses, strict=True):
            with wave.open(str(clip_path), "rb") as clip:
                data = clip.readframes(clip.getnframes())
            out.writeframes(data)
            silence = int(pause * RATE)
            out.writeframes(b"\x00\x00" * silence)
            frames += len(data) // 2 + silence
    return frames / RATE
