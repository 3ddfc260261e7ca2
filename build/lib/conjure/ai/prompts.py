"""Versioned prompt files shipped in an app's package, overridable by base64 settings (seed 000).

Prompts are product secrets: they are passed to the model and nowhere else. Only
their combined ``version`` (a short hash) is stored on jobs and results, so a
reading can be traced to the exact prompts that made it without revealing them.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources


class PromptError(ValueError):
    """A prompt override is not valid base64 UTF-8 text (raised at start-up, never with the text)."""


@dataclass(frozen=True)
class PromptSet:
    """The texts of an app's prompts, by name, and the version that identifies them together."""

    texts: Mapping[str, str] = field(repr=False)
    version: str
    overridden: frozenset[str] = frozenset()

    def __getitem__(self, name: str) -> str:
        return self.texts[name]


def decode_override(name: str, value: str) -> str:
    """Decode one base64 override; the error names the prompt, never its content."""
    try:
        text = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise PromptError(f"prompt override for {name} is not valid base64 UTF-8") from None
    if not text.strip():
        raise PromptError(f"prompt override for {name} is empty")
    return text


def load_prompts(
    package: str, names: list[str], overrides: Mapping[str, str] | None = None, *, folder: str = "prompts"
) -> PromptSet:
    """Read ``<package>/<folder>/<NAME>.md`` per name, apply non-empty base64 overrides, hash them all."""
    overrides = overrides or {}
    root = resources.files(package).joinpath(folder)
    texts: dict[str, str] = {}
    overridden: set[str] = set()
    for name in names:
        raw = overrides.get(name, "")
        if raw:
            texts[name] = decode_override(name, raw)
            overridden.add(name)
        else:
            texts[name] = root.joinpath(f"{name}.md").read_text(encoding="utf-8")
    digest = hashlib.sha256()
    for name in names:
        digest.update(name.encode())
        digest.update(b"\0")
        digest.update(texts[name].encode())
        digest.update(b"\0")
    return PromptSet(texts=texts, version=f"p-{digest.hexdigest()[:12]}", overridden=frozenset(overridden))
