"""The tarot app's settings: base64 overrides of its packaged prompts (``PROMPT_*``)."""

from __future__ import annotations

from conjure.settings import AppSettings


class TarotSettings(AppSettings):
    """Empty means the prompt as shipped in ``conjure/apps/tarot/prompts``."""

    prompt_question_filter: str = ""
    prompt_question_analysis: str = ""
    prompt_reading_agent: str = ""
