"""Fuzz the whole API with schemathesis: the app served on SQLite, as a user, an admin and anonymously.

Every check is on; a run fails on any 5xx, any status or content type the OpenAPI document does
not list, or a body that does not match it. ``tests/platform/test_contract_fuzz.py`` runs it
small on every test run; ``make fuzz`` runs it long::

    python -m tests.platform.fuzz --max-examples 100 --max-time 120
"""

from __future__ import annotations

import argparse
import asyncio
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn

from conjure.app import create_app
from conjure.apps import installed_apps
from conjure.runtime import Runtime
from conjure.settings import Settings
from tests.factories import auth_headers, make_user

CALLERS = ("user", "admin", "anonymous")
CONFIG = Path(__file__).with_name("schemathesis.toml")
# Limits far above a fuzz run's pace (so the logic behind them is what gets tested; 429 is
# documented and checked all the same), and the webhook and Telegram secrets, so those routes check
# signatures instead of answering 503 not configured.
OVERRIDES: dict[str, Any] = {
    **dict.fromkeys(
        (
            "rate_limit_default",
            "rate_limit_anonymous",
            "rate_limit_login",
            "rate_limit_generation",
            "rate_limit_payment",
            "rate_limit_signup",
            "rate_limit_password_reset",
            "assistant_messages_rate_limit",
            "ops_ai_rate_limit",
            "ops_public_lead_rate_limit",
        ),
        "1000000/minute",
    ),
    "stripe_webhook_secret": "whsec_fuzz",
    "telegram_bot_token": "123456:fuzz",
    "log_level": "WARNING",  # thousands of requests; failures are in schemathesis' report
    "replicate_webhook_secret": "whsec_ZnV6ego=",
    # The channels' webhooks (conjure.channels): configured, so a fuzzed request meets the checks.
    "ringcentral_webhook_verification_token": "rc-fuzz",
    "meta_app_secret": "meta-fuzz",
    "meta_verify_token": "meta-verify-fuzz",
    "google_pubsub_audience": "https://fuzz.test/api/v1/webhooks/google",
    "google_pubsub_service_account_email": "push@fuzz.iam.gserviceaccount.com",
    "google_pubsub_jwks_url": "http://127.0.0.1:9/certs",  # never Google's: nothing listens here
}


@dataclass
class Outcome:
    """One caller's run: the figures schemathesis printed, and its whole output for a failure."""

    caller: str
    returncode: int
    operations: int
    cases: int
    failures: int
    output: str


async def caller_headers(settings: Settings) -> dict[str, dict[str, str]]:
    """A user with stars, an admin, and nobody, as request headers."""
    runtime = await Runtime.start(settings, apps=installed_apps())
    try:
        user = await make_user(runtime, stars=50, coins=50)
        admin = await make_user(runtime, stars=50, admin=True)
        return {"user": auth_headers(runtime, user), "admin": auth_headers(runtime, admin), "anonymous": {}}
    finally:
        await runtime.close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def serve(settings: Settings) -> Iterator[str]:
    """The app (with its embedded worker) on a local port, in a thread of this process."""
    port = _free_port()
    config = uvicorn.Config(
        create_app(settings, embedded_worker=True),
        host="127.0.0.1",
        port=port,
        log_config=None,
        access_log=False,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the API did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def _figure(pattern: str, output: str) -> int:
    match = re.search(pattern, output)
    return int(match.group(1)) if match else 0


def run_schemathesis(
    base_url: str, caller: str, headers: dict[str, str], *, max_examples: int, max_time: int, workers: int = 1
) -> Outcome:
    """``schemathesis run`` with every check, for every operation, as one caller."""
    command = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "--config-file",
        str(CONFIG),
        "run",
        f"{base_url}/openapi.json",
        "--checks",
        "all",
        "--max-examples",
        str(max_examples),
        "--max-time",
        str(max_time),
        "--workers",
        str(workers),
        "--seed",
        "23",
        "--no-color",
        "--suppress-health-check",
        "all",
    ]
    for name, value in headers.items():
        command += ["--header", f"{name}: {value}"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=max_time + 120, check=False)
    output = done.stdout + done.stderr
    return Outcome(
        caller=caller,
        returncode=done.returncode,
        operations=_figure(r"(\d+) selected", output),
        cases=_figure(r"(\d+) generated", output),
        failures=_figure(r"(\d+) failures?", output),
        output=output,
    )


def fuzz(settings: Settings, *, max_examples: int, max_time: int) -> list[Outcome]:
    """Serve the app on ``settings`` and fuzz it as each caller in turn."""
    headers = asyncio.run(caller_headers(settings))
    with serve(settings) as base_url:
        return [
            run_schemathesis(base_url, caller, headers[caller], max_examples=max_examples, max_time=max_time)
            for caller in CALLERS
        ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--max-examples", type=int, default=100)
    parser.add_argument("--max-time", type=int, default=120, help="seconds per caller")
    args = parser.parse_args()
    from conjure.migrations.runner import upgrade

    with tempfile.TemporaryDirectory(prefix="conjure-fuzz-") as folder:
        root = Path(folder)
        database_url = f"sqlite+aiosqlite:///{root / 'conjure.db'}"
        upgrade(database_url, apps=installed_apps())
        settings = Settings(
            _env_file=None,
            environment="test",
            var_dir=root / "var",
            database_url=database_url,
            jwt_secret="fuzz-secret-" + "x" * 32,
            storage_url=f"file://{root / 'objects'}",
            **OVERRIDES,
        )
        outcomes = fuzz(settings, max_examples=args.max_examples, max_time=args.max_time)
    for outcome in outcomes:
        print(outcome.output)
    print("caller      operations  cases  failures")
    for o in outcomes:
        print(f"{o.caller:<11} {o.operations:>10} {o.cases:>6} {o.failures:>9}")
    return 0 if all(o.returncode == 0 for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
