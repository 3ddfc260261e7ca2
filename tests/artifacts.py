"""Where tests leave what a person looks at after a run (browser screenshots)."""

from __future__ import annotations

from pathlib import Path

SCREENSHOTS = Path(__file__).resolve().parents[1] / "test-artifacts" / "screenshots"
