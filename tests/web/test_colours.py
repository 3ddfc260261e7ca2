"""Status colours (errors, notes, successes) stay readable in both colour schemes: text at 4.5:1
or more against what is behind it, a notice's tinted background included (WCAG 2 AA)."""

from __future__ import annotations

from typing import Literal

import pytest
from playwright.sync_api import Browser

# Each status element drawn on a panel; its text colour and its background composited over the panel.
MEASURE = """() => {
  const panel = document.createElement("section");
  panel.className = "panel";
  document.body.append(panel);
  const rgba = (css) => { const [r, g, b, a = 1] = css.match(/[\\d.]+/g).map(Number); return [r, g, b, a]; };
  const over = (top, under) => top.slice(0, 3).map((c, i) => c * top[3] + under[i] * (1 - top[3]));
  const page = rgba(getComputedStyle(document.body).backgroundColor);
  const panelBg = over(rgba(getComputedStyle(panel).backgroundColor), page);
  const found = {};
  const kinds = ["notice error", "notice info", "notice ok", "bad", "hint ok"];
  kinds.push("badge failed", "badge queued");
  for (const cls of kinds) {
    const el = document.createElement("p");
    el.className = cls;
    el.textContent = "status";
    panel.append(el);
    const style = getComputedStyle(el);
    found[cls] = [rgba(style.color).slice(0, 3), over(rgba(style.backgroundColor), panelBg)];
  }
  return found;
}"""


def _luminance(rgb: list[float]) -> float:
    linear = [(c / 255) / 12.92 if c / 255 <= 0.04045 else ((c / 255 + 0.055) / 1.055) ** 2.4 for c in rgb]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def _contrast(a: list[float], b: list[float]) -> float:
    lighter, darker = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_status_text_is_readable_in_both_schemes(
    browser: Browser,
    server: str,
    scheme: Literal["light", "dark"],
) -> None:
    context = browser.new_context(base_url=server, color_scheme=scheme)
    try:
        page = context.new_page()
        page.goto("/")
        measured: dict[str, list[list[float]]] = page.evaluate(MEASURE)
    finally:
        context.close()
    ratios = {cls: round(_contrast(text, back), 2) for cls, (text, back) in measured.items()}
    assert len(ratios) == 7
    assert all(ratio >= 4.5 for ratio in ratios.values()), f"{scheme}: {ratios}"
