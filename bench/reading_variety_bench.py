"""How repetitive are offline readings? Distinct-sentence ratio and mean pairwise Jaccard over 100 readings.

For each language, 100 readings are composed for varied questions (cycled) and draws
from a seeded generator (the product draws from the OS CSPRNG; a seed keeps these
figures reproducible). Two figures per language:

- ``distinct_sentence_ratio``: distinct sentences / all sentences across the 100
  readings (1.0 = no sentence ever repeats). Thai is split on spaces, which is how
  Thai separates sentences and clauses.
- ``mean_pairwise_jaccard``: mean Jaccard similarity of the word-trigram sets of every
  pair of readings (0 = nothing shared; canned templates push it up).

Run: ``.venv/bin/python bench/reading_variety_bench.py`` (prints JSON).
"""

from __future__ import annotations

import itertools
import json
import random
import re
import sys
from typing import Any

from conjure.apps.tarot import offline
from conjure.apps.tarot.deck import SPREADS, Draw, DrawnCard, load_deck

QUESTIONS = {
    "en": [
        "Will I get the new job I interviewed for next week?",
        "Does my crush like me back?",
        "Should I move abroad for my studies next year?",
        "Will my business grow this year?",
        "How can I get along better with my mother?",
        "Will I pass my university exam?",
        "What do I need to know about my health right now?",
        "Will my finances improve soon?",
        "What is my spiritual path?",
        "How can I become more confident?",
        "Will my ex and I get back together?",
        "Should I ask my boss for a promotion this month?",
        "Why did my last relationship end?",
        "What should I focus on in my life right now?",
        "Will I find my soulmate someday?",
        "Should I start my own company?",
        "How will my family cope with the move?",
        "Will I get the scholarship?",
        "Is it time to change my habits?",
        "Will I pay off my debt in the long term?",
    ],
    "th": [
        "ความรักของฉันจะเป็นอย่างไรในปีหน้า",
        "งานใหม่ของฉันจะราบรื่นไหมในปีนี้",
        "แฟนเก่าจะกลับมาไหมในเดือนหน้า",
        "ธุรกิจของฉันจะเติบโตไหม",
        "การเงินของฉันจะดีขึ้นเร็วๆ นี้ไหม",
        "ฉันจะสอบผ่านไหม",
        "ความสัมพันธ์กับแม่จะดีขึ้นไหม",
        "ฉันควรย้ายไปทำงานต่างประเทศไหม",
        "สุขภาพของฉันตอนนี้เป็นอย่างไร",
        "ฉันจะมั่นใจในตัวเองมากขึ้นได้อย่างไร",
        "คนคุยคนนี้จริงใจไหม",
        "จะได้เลื่อนตำแหน่งเดือนหน้าไหม",
        "ทำไมความรักครั้งที่ผ่านมาถึงจบลง",
        "เส้นทางจิตวิญญาณของฉันเป็นอย่างไร",
        "ฉันจะได้ทุนเรียนต่อไหม",
        "ฉันควรลาออกไปทำธุรกิจของตัวเองไหม",
        "ครอบครัวของฉันจะมีความสุขไหม",
        "ฉันจะใช้หนี้หมดไหมในอนาคต",
        "ฉันควรเปลี่ยนแปลงอะไรในชีวิตตอนนี้",
        "เนื้อคู่ของฉันเป็นคนแบบไหน",
    ],
}


def seeded_draw(rng: random.Random) -> Draw:
    """A draw like ``deck.draw_cards`` but from a seeded generator, so the figures repeat."""
    count = rng.choice((3, 5))
    cards = rng.sample(load_deck(), count)
    drawn = tuple(
        DrawnCard(position, card, rng.choice(("upright", "reversed")))
        for position, card in zip(SPREADS[count], cards, strict=True)
    )
    return Draw(draw_id=f"bench-{rng.random()}", cards=drawn)


def reading_text(question: str, draw: Draw, lang: str) -> str:
    analysis = offline.analyze_question(question)
    draft = offline.compose_reading(question, analysis, draw, lang)
    return "\n".join([*(c.interpretation for c in draft.cards), draft.synthesis, draft.advice])


# Thai separates sentences and clauses with a space between Thai letters; spaces next to
# an English card name in brackets ("ไพ่ถ้วย (Cups) กลับหัว") do not end a sentence.
THAI_BREAK = r"(?<=[\u0E00-\u0E7F])\s+(?=[\u0E00-\u0E7F])|\n"


def sentences(text: str, lang: str) -> list[str]:
    splitter = r"(?<=[.!?])\s+|\n" if lang == "en" else THAI_BREAK
    return [s.strip() for s in re.split(splitter, text) if s.strip()]


def trigrams(text: str) -> set[tuple[str, ...]]:
    words = re.findall(r"\w+", text.lower())
    if lang_is_thai(text):  # Thai has no spaces between words: use character trigrams
        letters = [ch for ch in text if not ch.isspace()]
        return {tuple(letters[i : i + 3]) for i in range(len(letters) - 2)}
    return {tuple(words[i : i + 3]) for i in range(len(words) - 2)}


def lang_is_thai(text: str) -> bool:
    return bool(offline.THAI.search(text))


def measure(lang: str, n: int = 100, seed: int = 22) -> dict[str, Any]:
    rng = random.Random(seed)
    questions = QUESTIONS[lang]
    texts = [reading_text(questions[i % len(questions)], seeded_draw(rng), lang) for i in range(n)]
    all_sentences = [s for t in texts for s in sentences(t, lang)]
    shingles = [trigrams(t) for t in texts]
    pairs = list(itertools.combinations(shingles, 2))
    jaccard = sum(len(a & b) / len(a | b) for a, b in pairs) / len(pairs)
    return {
        "readings": n,
        "sentences": len(all_sentences),
        "distinct_sentence_ratio": round(len(set(all_sentences)) / len(all_sentences), 3),
        "mean_pairwise_jaccard": round(jaccard, 3),
        "mean_chars": round(sum(map(len, texts)) / n),
    }


def main() -> int:
    json.dump({lang: measure(lang) for lang in QUESTIONS}, sys.stdout, ensure_ascii=False, indent=2)
    print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
