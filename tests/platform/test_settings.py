"""App settings: their own classes, the same env names, values given in code win, `.env` only when asked."""

from __future__ import annotations

from pathlib import Path

import pytest

from conjure.apps.imagegen.settings import ImagegenSettings
from conjure.apps.tarot.settings import TarotSettings
from conjure.settings import Settings


@pytest.fixture
def dotenv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for name in ("IMAGE_PROVIDER", "REPLICATE_MODEL", "PROMPT_READING_AGENT"):
        monkeypatch.delenv(name, raising=False)
    env = tmp_path / ".env"
    env.write_text("IMAGE_PROVIDER=replicate\nREPLICATE_MODEL=owner/from-dotenv\n")
    return env


def test_app_settings_read_the_same_env_names(dotenv: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REPLICATE_MODEL", "owner/from-env")
    monkeypatch.setenv("PROMPT_READING_AGENT", "cHJvbXB0")
    settings = Settings()
    image = settings.for_app(ImagegenSettings)
    assert (image.image_provider, image.replicate_model) == ("replicate", "owner/from-env")  # env beats .env
    assert settings.for_app(TarotSettings).prompt_reading_agent == "cHJvbXB0"
    assert settings.for_app(ImagegenSettings) is image  # read once per Settings object


def test_values_given_in_code_reach_the_app_and_env_file_none_skips_dotenv(dotenv: Path) -> None:
    given = Settings(_env_file=None, image_provider="openai", image_max_concurrency=2)  # type: ignore[call-arg]
    image = given.for_app(ImagegenSettings)
    assert (image.image_provider, image.image_max_concurrency) == ("openai", 2)
    assert image.replicate_model == "black-forest-labs/flux-schnell"  # not the .env value
    assert not hasattr(given, "image_provider")  # the platform's object keeps only its own fields
    assert Settings(_env_file=None).for_app(ImagegenSettings).image_provider == "offline"  # type: ignore[call-arg]
