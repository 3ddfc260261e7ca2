"""What the assistant app (seed 002) adds to the platform: its routes and its jobs."""

from __future__ import annotations

from conjure.apps.assistant.meditations import MEDITATE, make_meditation, save_meditation
from conjure.apps.assistant.pages import router as page_router
from conjure.apps.assistant.router import router
from conjure.apps.assistant.routing import ModelRouter, router_for
from conjure.apps.assistant.settings import AssistantSettings
from conjure.apps.assistant.tasks import (
    ANSWER,
    ANSWER_PAID,
    REMEMBER,
    answer_message,
    remember_message,
    save_answer,
)
from conjure.jobs.registry import JobKind
from conjure.kit.spec import AppSpec
from conjure.settings import Settings

# A JobKind's price is fixed when the kind is made, so it is read from the environment at
# import (ASSISTANT_MESSAGE_PRICE_STARS); time limits are read per runtime.
_SETTINGS = AssistantSettings()


def answer_time_limit(settings: Settings) -> float:
    """ASSISTANT_ANSWER_TIMEOUT_SECONDS: waiting for earlier answers of the conversation included."""
    return settings.for_app(AssistantSettings).assistant_answer_timeout_seconds


def _answer_kind(name: str, price: int, description: str) -> JobKind:
    return JobKind(
        name=name,
        handler=answer_message,
        price_stars=price,
        timeout=answer_time_limit,
        on_success=save_answer,
        description=description,
    )


ANSWER_FREE_KIND = _answer_kind(ANSWER, 0, "Answer a message (within the day's free messages).")
ANSWER_PAID_KIND = _answer_kind(
    ANSWER_PAID, _SETTINGS.assistant_message_price_stars, "Answer a message past the day's free ones."
)


async def model_readiness(settings: Settings) -> str | None:
    """``warming`` until the local model answered its first call (which this starts), then ``ok``;
    None when no local model is configured."""
    router = router_for(settings)
    if not isinstance(router, ModelRouter) or router.local is None:
        return None
    return router.readiness()


def meditation_time_limit(settings: Settings) -> float:
    """ASSISTANT_MEDITATION_TIMEOUT_SECONDS: the seed's 10 minutes for a 20-minute meditation."""
    return settings.for_app(AssistantSettings).assistant_meditation_timeout_seconds


MEDITATION_KIND = JobKind(
    name=MEDITATE,
    handler=make_meditation,
    price_stars=_SETTINGS.assistant_meditation_price_stars,
    timeout=meditation_time_limit,
    on_success=save_meditation,
    description="Write, voice and stitch a guided meditation of 3-20 minutes.",
)

REMEMBER_KIND = JobKind(
    name=REMEMBER,
    handler=remember_message,
    timeout_seconds=60.0,
    description="Extract what a message says about its writer into the vector memory.",
)

APP = AppSpec(
    name="assistant",
    routers=[router, page_router],
    job_kinds=[ANSWER_FREE_KIND, ANSWER_PAID_KIND, REMEMBER_KIND, MEDITATION_KIND],
    ready_checks={"assistant_model": model_readiness},
)
