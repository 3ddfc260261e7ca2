"""The ``conjure`` command line."""

from __future__ import annotations

import asyncio
import os
from typing import TYPE_CHECKING

import typer
import uvicorn

from conjure.settings import Settings

if TYPE_CHECKING:
    from fastapi import FastAPI

app = typer.Typer(
    help="Conjure: accept paid AI work at once, run it on durable workers, charge only on success.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@app.callback()
def _configure() -> None:
    # Every command logs through the same redacting structlog set-up as the API
    # (JSON in production), so a worker's crash log never carries a user's question.
    from conjure.observability.logging import configure_logging

    settings = Settings()
    configure_logging(json_logs=settings.is_production, level=settings.log_level)


@app.command()
def up(
    host: str = typer.Option("127.0.0.1", help="Interface to bind."),
    port: int = typer.Option(8000, help="Port to bind."),
) -> None:
    """Migrate, then run API + worker + scheduler in one process (embedded default, or your env)."""
    uvicorn.run(build_up(host, port), host=host, port=port, log_config=None)


def build_up(host: str, port: int) -> FastAPI:
    """What ``conjure up`` serves: migrated, with links pointing at ``host:port`` unless
    ``PUBLIC_BASE_URL`` says otherwise."""
    from conjure.app import create_app
    from conjure.apps import installed_apps
    from conjure.migrations.runner import upgrade

    settings = Settings().serving_at(host, port)
    apps = installed_apps()
    upgrade(settings.resolved_database_url, apps=apps)
    return create_app(settings, apps=apps, embedded_worker=True)


@app.command()
def api(
    host: str = typer.Option("127.0.0.1", help="Interface to bind."),
    port: int = typer.Option(8000, help="Port to bind."),
    workers: int = typer.Option(1, help="API processes."),
) -> None:
    """Run the HTTP API only (production: run `conjure worker` separately)."""
    # The API processes build their own Settings (factory): hand the address on through the env.
    served = Settings().serving_at(host, port)
    os.environ.setdefault("PUBLIC_BASE_URL", served.public_base_url)
    os.environ.setdefault("CORS_ORIGINS", ",".join(served.cors_origins))
    uvicorn.run(
        "conjure.app:create_app", factory=True, host=host, port=port, workers=workers, log_config=None
    )


@app.command()
def worker() -> None:
    """Run a job worker (and its scheduler loops) until SIGTERM."""
    from conjure.apps import installed_apps
    from conjure.jobs.worker import run_worker

    asyncio.run(run_worker(Settings(), apps=installed_apps()))


@app.command()
def migrate(
    revision: str = typer.Argument("heads", help="Target: heads (every branch), or e.g. tarot@head."),
) -> None:
    """Apply database migrations: the platform's and every installed app's branch."""
    from conjure.apps import installed_apps
    from conjure.migrations.runner import upgrade

    upgrade(Settings().resolved_database_url, revision, apps=installed_apps())


def _add_domain_commands() -> None:
    """Operator commands live with their domain (``conjure wallet …``, ``conjure jobs …``)."""
    import importlib

    for name in ("auth", "wallet", "jobs", "payments"):
        try:
            module = importlib.import_module(f"conjure.{name}.cli")
        except ModuleNotFoundError as exc:
            if exc.name != f"conjure.{name}.cli":
                raise
            continue
        app.add_typer(module.app, name=name)


_add_domain_commands()

if __name__ == "__main__":
    app()
