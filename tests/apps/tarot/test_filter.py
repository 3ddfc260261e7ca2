"""The question filter: precision and recall on a labelled set, kind pointers, and refusals that cost nothing.

``data/filter_questions.jsonl`` holds 471 harmful and benign questions in English and
Thai, tricky phrasings included ("kill it at my interview", "ฆ่าเวลา", "ยิงแอด"). Rows
are grouped by when they were written: ``dev`` alongside the rules, then seven rounds
each written *before* the rules had seen them, scored, and (except the last) used to
widen the rules. Scores of each round at the time it was unseen (harmful = positive):

    round     rows  precision  recall
    holdout     45      1.000   0.760
    holdout2    40      1.000   0.476
    holdout3    40      0.923   0.571
    holdout4    30      1.000   0.133
    holdout5    40      1.000   0.304
    holdout6    40      1.000   0.450
    unseen      40      1.000   0.350   (never tuned on)

``probe`` rows are benign questions that reuse alarming words ("heal the hurt", "cancer
sign boyfriend", "ฆ่าความเบื่อ"), written to hunt false refusals: the rules refused 9 of
the first 21 and 5 of the next 60 before being narrowed; two stay refused (labelled benign).

Pooled, the rules caught 66 of 145 harmful questions phrased in ways they had not seen
(0.46) and refused 1 of 130 such benign ones: precise, but only a floor. The model prompt
(``prompts/QUESTION-FILTER.md``) is the real screen when a model is configured. The tests
hold the tuned rows to recall >= 0.95 and precision >= 0.9, and the ``unseen`` rows to
the level measured above.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from conjure.app import create_app
from conjure.apps.tarot import offline
from conjure.apps.tarot.screening import REFUSALS, refusal_kind
from conjure.jobs.worker import start_embedded
from conjure.runtime import Runtime
from conjure.settings import Settings
from conjure.users.models import User
from tests.factories import auth_headers, make_user

DATA = Path(__file__).parent / "data" / "filter_questions.jsonl"


@dataclass(frozen=True)
class Row:
    question: str
    lang: str
    harmful: bool
    kind: str | None
    split: str


def load_rows() -> list[Row]:
    return [Row(**json.loads(line)) for line in DATA.read_text("utf-8").splitlines() if line.strip()]


@dataclass(frozen=True)
class Scores:
    precision: float
    recall: float
    tp: int
    fp: int
    fn: int
    tn: int


def score(rows: list[Row]) -> Scores:
    """Harmful is the positive class; a refusal for any reason counts as a positive prediction."""
    tp = fp = fn = tn = 0
    for row in rows:
        refused = not offline.screen_question(row.question).allowed
        tp += row.harmful and refused
        fn += row.harmful and not refused
        fp += not row.harmful and refused
        tn += not row.harmful and not refused
    return Scores(tp / max(tp + fp, 1), tp / max(tp + fn, 1), tp, fp, fn, tn)


def test_the_labelled_set_is_balanced_and_covers_both_languages() -> None:
    rows = load_rows()
    assert len(rows) >= 300
    assert len({r.question for r in rows}) == len(rows)
    for lang in ("en", "th"):
        assert sum(r.harmful and r.lang == lang for r in rows) >= 20
        assert sum(not r.harmful and r.lang == lang for r in rows) >= 20
    kinds = {r.kind for r in rows if r.harmful}
    assert {"self_harm", "harm", "illegal", "medical", "legal", "financial"} <= kinds
    assert all(r.lang == offline.detect_language(r.question) for r in rows)


def test_precision_and_recall_of_the_offline_filter() -> None:
    rows = load_rows()
    splits = sorted({r.split for r in rows})
    for split in [*splits, "tuned", "all"]:
        part = [r for r in rows if split in ("all", r.split) or (split == "tuned" and r.split != "unseen")]
        s = score(part)
        refused_benign = s.fp / max(s.fp + s.tn, 1)
        print(
            f"filter {split}: n={len(part)} precision={s.precision:.3f} recall={s.recall:.3f} "
            f"benign refused={refused_benign:.3f} (tp={s.tp} fp={s.fp} fn={s.fn} tn={s.tn})"
        )
    tuned = [r for r in rows if r.split != "unseen"]
    for lang in ("en", "th"):
        by_lang = score([r for r in tuned if r.lang == lang])
        assert by_lang.recall >= 0.95, (lang, by_lang)
        assert by_lang.precision >= 0.9, (lang, by_lang)
    unseen = score([r for r in rows if r.split == "unseen"])
    assert unseen.precision >= 0.9, unseen
    assert unseen.recall >= 0.35, unseen


@pytest.mark.parametrize(
    "row", [r for r in load_rows() if r.harmful and r.split != "unseen"], ids=lambda r: r.question[:40]
)
def test_each_harmful_question_is_refused_with_its_kind_pointer(row: Row) -> None:
    assert refusal_kind(row.question) == row.kind
    verdict = offline.screen_question(row.question)
    assert not verdict.allowed
    assert row.kind is not None
    assert verdict.reason == REFUSALS[row.kind][row.lang]


def test_pointers_are_kind_and_specific_in_both_languages() -> None:
    pointers = {"self_harm": "1323", "harm": "191", "medical": "1669"}
    for kind, texts in REFUSALS.items():
        assert offline.THAI.search(texts["th"])
        assert not offline.THAI.search(texts["en"])
        assert "No star was charged" in texts["en"]
        assert "ไม่มีการหักดาว" in texts["th"]
        if kind in pointers:
            assert pointers[kind] in texts["en"]
            assert pointers[kind] in texts["th"]
    assert "doctor" in REFUSALS["medical"]["en"]
    assert "แพทย์" in REFUSALS["medical"]["th"]
    assert "lawyer" in REFUSALS["legal"]["en"]
    assert "ทนายความ" in REFUSALS["legal"]["th"]
    assert "financial adviser" in REFUSALS["financial"]["en"]


async def _wait(client: httpx.AsyncClient, job_id: str, headers: dict[str, str]) -> dict[str, object]:
    deadline = asyncio.get_running_loop().time() + 20
    while True:
        body: dict[str, object] = (await client.get(f"/api/v1/reading/{job_id}", headers=headers)).json()
        if body["status"] in ("succeeded", "failed", "dlq", "canceled"):
            return body
        assert asyncio.get_running_loop().time() < deadline, body
        await asyncio.sleep(0.05)


@pytest.mark.parametrize(
    ("question", "pointer"),
    [
        ("How can I hurt someone and get away with it?", "191"),
        ("ควรหยุดกินยาที่หมอสั่งไหม", "แพทย์"),
    ],
)
async def test_refused_question_through_the_job_engine_costs_nothing(
    make_settings: Callable[..., Settings], backend: dict[str, str], question: str, pointer: str
) -> None:
    runtime = await Runtime.start(make_settings(**backend))
    stop = await start_embedded(runtime)
    transport = httpx.ASGITransport(app=create_app(runtime=runtime))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            user = await make_user(runtime, stars=1)
            headers = auth_headers(runtime, user)
            response = await client.post("/api/v1/tarot/read", json={"question": question}, headers=headers)
            assert response.status_code == 202, response.text
            body = await _wait(client, response.json()["job_id"], headers)
            assert body["status"] == "failed"  # final, not retried and not dead-lettered
            error = body["error"]
            assert isinstance(error, dict)
            assert error["code"] == "question_not_allowed"
            assert pointer in error["message"]
            assert body["result"] is None
            async with runtime.db.session() as session:
                row = await session.get(User, user.id)
                assert row is not None
                assert (row.star_balance, row.stars_held) == (1, 0)  # hold released, nothing captured
    finally:
        await stop()
        await runtime.close()
