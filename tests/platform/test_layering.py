"""The platform never imports an app: only the entry points (conjure.cli, conjure.app) list them."""

from __future__ import annotations

import subprocess
import sys

from conjure.apps import INSTALLED, installed_apps
from conjure.kit.spec import AppSpec

PLATFORM_MODULES = (
    "conjure.runtime",
    "conjure.deps",
    "conjure.kit.submit",
    "conjure.kit.paging",
    "conjure.media.images",
    "conjure.migrations.runner",
    "conjure.jobs.worker",
    "conjure.wallet.router",
    "conjure.payments.router",
)


def test_platform_modules_import_no_app() -> None:
    code = (
        "import importlib, sys\n"
        f"for name in {PLATFORM_MODULES!r}: importlib.import_module(name)\n"
        "print(sorted(m for m in sys.modules if m.startswith('conjure.apps')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout


def test_installed_apps_are_the_listed_specs() -> None:
    apps = installed_apps()
    assert all(isinstance(app, AppSpec) for app in apps)
    assert [app.name for app in apps] == ["tarot", "imagegen", "staging", "ops", "assistant"]
    assert len(apps) == len(INSTALLED)
    kinds = {kind.name for app in apps for kind in app.job_kinds}
    assert kinds == {
        "tarot.reading",
        "imagegen.generate",
        "staging.stage",
        "ops.triage",
        "ops.qualify_lead",
        "assistant.answer",
        "assistant.answer_paid",
        "assistant.remember",
        "assistant.meditation",
    }
