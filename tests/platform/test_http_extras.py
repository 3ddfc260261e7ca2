"""/docs and /redoc work with no internet, large JSON is gzipped, and Alembic starts quietly."""

from __future__ import annotations

import json
import logging

import httpx
import pytest

from conjure.observability.logging import configure_logging


async def test_docs_load_their_assets_from_this_server(client: httpx.AsyncClient) -> None:
    for page, asset in (("/docs", "swagger-ui-bundle.js"), ("/redoc", "redoc.standalone.js")):
        html = (await client.get(page)).text
        assert f"/docs-assets/{asset}" in html
        assert "cdn.jsdelivr.net" not in html
        assert "fonts.googleapis.com" not in html
        served = await client.get(f"/docs-assets/{asset}")
        assert served.status_code == 200
        assert len(served.content) > 100_000  # the real bundle, not a stub
    assert (await client.get("/docs-assets/swagger-ui.css")).status_code == 200


async def test_large_json_is_gzipped_and_small_answers_are_not(client: httpx.AsyncClient) -> None:
    spec = await client.get("/openapi.json", headers={"Accept-Encoding": "gzip"})
    assert spec.headers["content-encoding"] == "gzip"
    assert spec.json()["info"]["title"] == "Conjure"  # httpx decoded it
    assert int(spec.headers["content-length"]) < len(spec.content) / 3
    health = await client.get("/health", headers={"Accept-Encoding": "gzip"})
    assert "content-encoding" not in health.headers
    plain = await client.get("/openapi.json", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers


def test_alembic_chatter_is_quiet_at_info(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(json_logs=True, level="INFO")  # its handler writes to this test's stderr
    logging.getLogger("alembic.runtime.plugins").info("setup plugin alembic.autogenerate.schemas")
    migration = logging.getLogger("alembic.runtime.migration")
    migration.info("Context impl SQLiteImpl.")
    migration.info("Will assume non-transactional DDL.")
    migration.info("Running upgrade 0011_invite_flags -> 0020_trace_context, jobs: trace_context")
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]
    alembic = [line["event"] for line in lines if line.get("logger", "").startswith("alembic")]
    assert alembic == ["Running upgrade 0011_invite_flags -> 0020_trace_context, jobs: trace_context"]
