"""The ``conjure`` command line."""

from __future__ import annotations

import errno
import os
import socket
import sys
from typing import TYPE_CHECKING, NoReturn

import structlog
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


log = structlog.get_logger("conjure.cli")

# Exit codes: 1 an operation failed, 2 bad usage (click's), 3 a setting is missing or wrong,
# 4 a service or port is unavailable, 130 interrupted.
FAILED, CONFIG, UNAVAILABLE, INTERRUPTED = 1, 3, 4, 130


class CliError(Exception):
    """A failure the command explains in one sentence, with its exit code."""

    def __init__(self, sentence: str, code: int = FAILED) -> None:
        super().__init__(sentence)
        self.sentence = sentence
        self.code = code


def main() -> None:
    """The ``conjure`` entry point: a failure is one sentence on stderr and an exit code, not a traceback."""
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(INTERRUPTED)
    except Exception as exc:
        fail(exc)


def fail(exc: BaseException) -> NoReturn:
    """Print why ``exc`` stopped the command and exit with its code (the traceback only at DEBUG)."""
    from conjure.cli_errors import explain

    sentence, code = (exc.sentence, exc.code) if isinstance(exc, CliError) else explain(exc)
    log.debug("command_failed", exc_info=exc)
    typer.echo(f"conjure: {sentence}", err=True)
    sys.exit(code)


def _preflight(settings: Settings) -> None:
    """What would otherwise fail deep inside start-up, checked first and said plainly."""
    if settings.is_production and settings.jwt_secret is None:
        raise CliError(
            f"JWT_SECRET must be set when ENVIRONMENT is {settings.environment}: "
            "it signs every access token, and a generated one would differ per process.",
            CONFIG,
        )
    port = settings.worker_metrics_port
    if port and not _port_free(port):
        raise CliError(
            f"WORKER_METRICS_PORT {port} is already in use (another worker on this host?); "
            "give each worker its own port, or 0 for none.",
            UNAVAILABLE,
        )


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("", port))
        except OSError as exc:
            return exc.errno != errno.EADDRINUSE
    return True


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
    _preflight(settings.model_copy(update={"worker_metrics_port": 0}))
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
    _preflight(served.model_copy(update={"worker_metrics_port": 0}))
    os.environ.setdefault("PUBLIC_BASE_URL", served.public_base_url)
    os.environ.setdefault("CORS_ORIGINS", ",".join(served.cors_origins))
    uvicorn.run(
        "conjure.app:create_app", factory=True, host=host, port=port, workers=workers, log_config=None
    )


@app.command()
def worker() -> None:
    """Run a job worker (and its scheduler loops) until SIGTERM."""
    from conjure.apps import installed_apps
    from conjure.jobs.worker import run_worker, serve

    settings = Settings()
    _preflight(settings)
    serve(run_worker(settings, apps=installed_apps()))


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
    main()
