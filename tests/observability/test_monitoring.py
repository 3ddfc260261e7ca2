"""The alert rules (deploy/prometheus/rules) and the dashboard (deploy/grafana/dashboards) are valid
and name only real metrics."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "deploy" / "prometheus" / "rules" / "conjure.yml"
DASHBOARD = ROOT / "deploy" / "grafana" / "dashboards" / "conjure.json"
METRIC = re.compile(r"\bconjure_[a-z0-9_]+")
SUFFIXES = {"counter": ("_total", "_created"), "histogram": ("_bucket", "_sum", "_count", "_created")}


def test_promtool_accepts_the_alert_rules() -> None:
    promtool = shutil.which("promtool")
    assert promtool is not None, "promtool is missing: run `make system-deps` (Debian's prometheus package)"
    checked = subprocess.run([promtool, "check", "rules", str(RULES)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS" in checked.stdout


async def test_every_metric_the_rules_and_dashboard_name_is_exposed(client: httpx.AsyncClient) -> None:
    exposition = (await client.get("/metrics")).text
    exposed: set[str] = set()
    for name, kind in re.findall(r"^# TYPE (\S+) (\S+)$", exposition, re.MULTILINE):
        exposed.add(name)
        exposed.update(name + suffix for suffix in SUFFIXES.get(kind, ()))
    dashboard = json.loads(DASHBOARD.read_text())
    expressions = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    assert len(expressions) >= 15
    named = set(METRIC.findall(RULES.read_text())) | set(METRIC.findall("\n".join(expressions)))
    assert len(named) >= 15
    assert named <= exposed, f"not exposed by /metrics: {sorted(named - exposed)}"


def test_the_alerts_cover_what_operators_are_paged_for() -> None:
    names = set(re.findall(r"- alert: (\w+)", RULES.read_text()))
    expected = {
        "ConjureDLQGrowing",
        "ConjureOldestQueuedJobTooOld",
        "ConjureHTTPErrorRateHigh",
        "ConjureProviderCircuitOpen",
        "ConjureProviderBudgetExhausted",
        "ConjureWalletCheckFailing",
    }
    assert expected <= names
