"""Migrations run up and down on SQLite and PostgreSQL, match the models, and adopt the old single chain.

The platform's revisions are one branch, each app's another (``version_locations``);
databases migrated before the split (one chain up to 0008) upgrade to the new heads.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import re
import shutil
import uuid
from pathlib import Path

import asyncpg
import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

from conjure.apps import installed_apps
from conjure.db import Base, make_engine
from conjure.migrations.models import import_all_models
from conjure.migrations.runner import APPS_DIR, HERE, PLATFORM_VERSIONS, alembic_config, downgrade, upgrade


def _tables_and_diff(url: str) -> tuple[set[str], list[object]]:
    import_all_models()
    installed_apps()  # imports the apps' models too

    def inspect_sync(conn: Connection) -> tuple[set[str], list[object]]:
        tables = set(inspect(conn).get_table_names())
        context = MigrationContext.configure(conn, opts={"compare_type": False})
        return tables, compare_metadata(context, Base.metadata)

    async def run() -> tuple[set[str], list[object]]:
        engine = make_engine(url)
        async with engine.connect() as conn:
            result = await conn.run_sync(inspect_sync)
        await engine.dispose()
        return result

    return asyncio.run(run())


def _up_down_up(url: str) -> None:
    upgrade(url)
    tables, diff = _tables_and_diff(url)
    assert set(Base.metadata.tables) <= tables
    assert diff == [], f"models and migrations differ: {diff}"
    downgrade(url, "base")
    tables, _ = _tables_and_diff(url)
    assert tables <= {"alembic_version"}
    upgrade(url)


def test_migrations_up_and_down_on_sqlite(tmp_path: Path) -> None:
    _up_down_up(f"sqlite+aiosqlite:///{tmp_path / 'm.db'}")


def test_migrations_up_and_down_on_postgres(pg_admin_url: str) -> None:
    import asyncpg

    async def create() -> None:
        conn = await asyncpg.connect(pg_admin_url.replace("+asyncpg", ""))
        await conn.execute("CREATE DATABASE migration_check")
        await conn.close()

    asyncio.run(create())
    _up_down_up(pg_admin_url.rsplit("/", 1)[0] + "/migration_check")


def _versions(url: str) -> set[str]:
    async def run() -> set[str]:
        engine = make_engine(url)
        async with engine.connect() as conn:
            rows = (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalars().all()
        await engine.dispose()
        return set(rows)

    return asyncio.run(run())


def _ledger_update_allowed(url: str) -> bool:
    """Whether an UPDATE of a ledger row goes through (one user, one row, rolled back either way)."""

    async def run() -> bool:
        engine = make_engine(url)
        try:
            async with engine.connect() as conn:
                # Raw values as each backend stores a Uuid column (32 hex characters on SQLite).
                ids: dict[str, object] = {"id": USER_ID, "tx": uuid.uuid4(), "now": NOW}
                if conn.dialect.name == "sqlite":  # (and no reliance on sqlite3's datetime adapter)
                    ids = {"id": USER_ID.hex, "tx": uuid.uuid4().hex, "now": NOW.isoformat(" ")}
                await conn.execute(
                    text(
                        "INSERT INTO users (id, role, star_balance, coin_balance, stars_held, ledger_seq,"
                        " invite_code, total_invites, tier, created_at, updated_at) VALUES"
                        " (:id, 'user', 1, 0, 0, 1, 'MIGRATE1', 0, 'free', :now, :now)"
                    ),
                    {"id": ids["id"], "now": ids["now"]},
                )
                await conn.execute(
                    text(
                        "INSERT INTO wallet_transactions (id, user_id, seq, transaction_type, amount,"
                        " currency, balance_after, held_change, held_after, idempotency_key, flagged,"
                        " created_at) VALUES (:tx, :id, 1, 'grant', 1, 'star', 1, 0, 0, 'k', false, :now)"
                    ),
                    ids,
                )
                try:
                    await conn.execute(text("UPDATE wallet_transactions SET amount = 2"))
                except DBAPIError:
                    return False
                finally:
                    await conn.rollback()
                return True
        finally:
            await engine.dispose()

    return asyncio.run(run())


def _heads(url: str) -> set[str]:
    return set(ScriptDirectory.from_config(alembic_config(url)).get_heads())


def _at_heads(url: str) -> bool:
    """Every head applied: recorded, or implied by a recorded revision that ``depends_on`` it
    (Alembic keeps ``alembic_version`` minimal, so a platform head an app branch depends on has no row)."""
    script = ScriptDirectory.from_config(alembic_config(url))
    recorded = _versions(url)
    applied = {rev.revision for rev in script.iterate_revisions(tuple(recorded), "base")}
    return recorded <= _heads(url) and _heads(url) <= applied


def _old_chain(tmp: Path) -> Path:
    """The single chain as it was up to 0008: 0005 → 0006_tarot → 0007_imagegen → 0008_ledger_seq."""
    old = tmp / "old_versions"
    old.mkdir()
    for path in sorted(PLATFORM_VERSIONS.glob("000[1-5]_*.py")):
        shutil.copy(path, old / path.name)
    moved = {
        APPS_DIR / "tarot/migrations/versions/0006_tarot.py": "0005_payments",
        APPS_DIR / "imagegen/migrations/versions/0007_imagegen.py": "0006_tarot",
        PLATFORM_VERSIONS / "0008_ledger_seq.py": "0007_imagegen",
    }
    for path, down in moved.items():
        source = path.read_text()
        source = re.sub(r"^down_revision = .*$", f'down_revision = "{down}"', source, flags=re.M)
        source = re.sub(r"^branch_labels = .*$", "branch_labels = None", source, flags=re.M)
        source = re.sub(r"^depends_on = .*$", "depends_on = None", source, flags=re.M)
        (old / path.name).write_text(source)
    return old


def _upgrade_old_then_new(url: str, tmp: Path) -> None:
    config = Config()
    config.set_main_option("script_location", str(HERE))
    config.set_main_option("path_separator", "os")
    config.set_main_option("version_locations", str(_old_chain(tmp)))
    config.set_main_option("sqlalchemy.url", url)
    command.upgrade(config, "0008_ledger_seq")
    assert _versions(url) == {"0008_ledger_seq"}  # what every existing database has today

    upgrade(url)  # the new layout: platform and app branches
    assert _at_heads(url)
    assert {"0006_tarot", "0007_imagegen", "staging_0002_uploads"} <= _versions(url)
    tables, diff = _tables_and_diff(url)
    assert {"tarot_readings", "generations", "staging_images"} <= tables
    assert diff == [], f"models and migrations differ: {diff}"
    downgrade(url, "base")  # the adopted history is one the new graph can walk back
    assert _tables_and_diff(url)[0] <= {"alembic_version"}


def test_upgrade_heads_from_empty_records_one_head_per_branch(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'h.db'}"
    upgrade(url)
    heads = _heads(url)
    assert _at_heads(url)
    assert len(heads) == 6  # the platform's and one per app
    script = ScriptDirectory.from_config(alembic_config(url))
    for label in ("tarot", "imagegen", "staging", "ops", "assistant"):
        head = script.get_revision(f"{label}@head")
        assert head is not None
        assert head.revision in heads


def test_an_existing_sqlite_database_at_0008_upgrades_to_the_new_heads(tmp_path: Path) -> None:
    _upgrade_old_then_new(f"sqlite+aiosqlite:///{tmp_path / 'old.db'}", tmp_path)


@pytest.mark.parametrize("name", ["legacy_check"])
def test_an_existing_postgres_database_at_0008_upgrades_to_the_new_heads(
    pg_admin_url: str, tmp_path: Path, name: str
) -> None:
    async def create() -> None:
        conn = await asyncpg.connect(pg_admin_url.replace("+asyncpg", ""))
        await conn.execute(f"CREATE DATABASE {name}")
        await conn.close()

    asyncio.run(create())
    _upgrade_old_then_new(pg_admin_url.rsplit("/", 1)[0] + f"/{name}", tmp_path)


USER_ID = uuid.uuid4()
NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def _ledger_guard_follows_0009(url: str) -> None:
    upgrade(url)
    assert not _ledger_update_allowed(url)
    downgrade(url, "0008_ledger_seq")
    assert _ledger_update_allowed(url)
    upgrade(url)
    assert not _ledger_update_allowed(url)


def test_ledger_is_append_only_from_0009_on_sqlite(tmp_path: Path) -> None:
    _ledger_guard_follows_0009(f"sqlite+aiosqlite:///{tmp_path / 'ledger.db'}")


def test_ledger_is_append_only_from_0009_on_postgres(pg_admin_url: str) -> None:
    import asyncpg

    async def create() -> None:
        conn = await asyncpg.connect(pg_admin_url.replace("+asyncpg", ""))
        await conn.execute("CREATE DATABASE ledger_guard_check")
        await conn.close()

    asyncio.run(create())
    _ledger_guard_follows_0009(pg_admin_url.rsplit("/", 1)[0] + "/ledger_guard_check")


def _inbound_payloads_after_0024(url: str) -> dict[str, object]:
    """Two inbound events stored at 0023, one handed to the apps and one not; their payloads once
    0024 ran (the handled one's record emptied, the other's kept for its retry)."""
    upgrade(url)
    downgrade(url, "0023_attempt_usage")
    sqlite = url.startswith("sqlite")

    async def store() -> None:
        engine = make_engine(url)
        try:
            async with engine.begin() as conn:
                for provider_id, processed in (("handled", True), ("pending", False)):
                    # Raw values as each backend stores a Uuid and a datetime column.
                    row_id, now = (uuid.uuid4().hex, NOW.isoformat(" ")) if sqlite else (uuid.uuid4(), NOW)
                    payload = "CAST(:payload AS jsonb)" if not sqlite else ":payload"
                    await conn.execute(
                        text(
                            "INSERT INTO channel_inbound_events (id, channel, provider_message_id,"
                            f" payload, received_at, processed_at) VALUES (:id, 'sms', :pid, {payload},"
                            " :now, :done)"
                        ),
                        {
                            "id": row_id,
                            "pid": provider_id,
                            "payload": SAID,
                            "now": now,
                            "done": now if processed else None,
                        },
                    )
        finally:
            await engine.dispose()

    async def read() -> list[tuple[str, object]]:
        engine = make_engine(url)
        try:
            async with engine.connect() as conn:
                rows = await conn.execute(
                    text("SELECT provider_message_id, payload FROM channel_inbound_events")
                )
                return [(str(pid), payload) for pid, payload in rows.all()]
        finally:
            await engine.dispose()

    asyncio.run(store())
    upgrade(url)  # as every other test here: one engine per event loop, disposed in it
    return {
        pid: payload if isinstance(payload, dict) else json.loads(str(payload))
        for pid, payload in asyncio.run(read())
    }


SAID = '{"text": "my number is +14155550123"}'


def test_0024_empties_the_records_of_inbound_events_already_handled_on_sqlite(tmp_path: Path) -> None:
    payloads = _inbound_payloads_after_0024(f"sqlite+aiosqlite:///{tmp_path / 'inbound.db'}")
    assert payloads == {"handled": {}, "pending": json.loads(SAID)}


def test_0024_empties_the_records_of_inbound_events_already_handled_on_postgres(pg_admin_url: str) -> None:
    async def create() -> None:
        conn = await asyncpg.connect(pg_admin_url.replace("+asyncpg", ""))
        await conn.execute("CREATE DATABASE inbound_payloads_check")
        await conn.close()

    asyncio.run(create())
    payloads = _inbound_payloads_after_0024(pg_admin_url.rsplit("/", 1)[0] + "/inbound_payloads_check")
    assert payloads == {"handled": {}, "pending": json.loads(SAID)}
