"""The deployment artefacts agree with the code: Dockerfile, docker-compose.yml, deploy/k8s, .env.example.

They are files nothing else runs in the suite, so these checks are what keeps them from rotting:
every variable they set is a setting Conjure (or a library it runs) reads, every probe hits a
route the app serves, the worker's grace period outlasts the longest job, the README names the
compose services there are, and `.env.example` lists every setting.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
import yaml

from conjure.apps import installed_apps
from conjure.settings import AppSettings, Settings

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
CONJURE_SERVICES = {"migrate", "api", "worker"}
# Read by libraries, not by Settings: the OpenTelemetry SDK (OTEL_*, its spec's names), uvicorn
# (FORWARDED_ALLOW_IPS) and the image's HEALTHCHECK (HEALTHCHECK_URL, Dockerfile).
EXTERNAL = re.compile(r"^(OTEL_[A-Z_]+|FORWARDED_ALLOW_IPS|HEALTHCHECK_URL)$")

sys.path.insert(0, str(ROOT / "scripts"))
from env_example import env_example  # noqa: E402


def _setting_names() -> set[str]:
    installed_apps()
    names = {name.upper() for name in Settings.model_fields}
    todo = list(AppSettings.__subclasses__())
    while todo:
        cls = todo.pop()
        if cls.__module__.startswith("conjure.apps."):  # not the test apps' classes
            names |= {name.upper() for name in cls.model_fields}
        todo.extend(cls.__subclasses__())
    return names


def _compose() -> dict[str, Any]:
    loaded = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert isinstance(loaded, dict)
    return loaded


def _manifests() -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = []
    for path in sorted(K8S.glob("*.yaml")):
        docs += [doc for doc in yaml.safe_load_all(path.read_text()) if doc]
    return docs


def _kind(kind: str, name: str) -> dict[str, Any]:
    found = [d for d in _manifests() if d["kind"] == kind and d["metadata"]["name"] == name]
    assert len(found) == 1, f"one {kind} {name}"
    return found[0]


def _containers(doc: dict[str, Any]) -> list[dict[str, Any]]:
    containers: list[dict[str, Any]] = doc["spec"]["template"]["spec"]["containers"]
    return containers


def test_env_example_lists_every_setting_with_its_default() -> None:
    committed = (ROOT / ".env.example").read_text()
    assert committed == env_example(), "run `make env-example` and commit .env.example"
    listed = set(re.findall(r"^# ([A-Z0-9_]+)=", committed, flags=re.M))
    assert listed == _setting_names()


def test_compose_sets_only_real_settings_on_conjure_services() -> None:
    settings = _setting_names()
    services = _compose()["services"]
    assert set(services) >= CONJURE_SERVICES
    for name in CONJURE_SERVICES:
        env = services[name]["environment"]
        unknown = {key for key in env if key not in settings and not EXTERNAL.match(key)}
        assert not unknown, f"{name} sets variables Conjure does not read: {unknown}"
        assert services[name]["image"] == "conjure:latest"


def test_compose_runs_redis_durable_and_waits_for_migrations() -> None:
    services = _compose()["services"]
    redis_cmd = " ".join(services["redis"]["command"])
    assert "--appendonly yes" in redis_cmd
    assert "--maxmemory-policy noeviction" in redis_cmd
    for name in ("api", "worker"):
        assert services[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert services["migrate"]["command"] == ["conjure", "migrate"]


def test_compose_mounts_files_that_exist() -> None:
    for name, service in _compose()["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (ROOT / source).exists(), f"{name} mounts missing {source}"


def test_readme_names_the_compose_services() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("### Docker Compose", 1)[1].split("\n## ", 1)[0]
    named = set(re.findall(r"^\| `([a-z-]+)` \|", section, flags=re.M))
    assert named == set(_compose()["services"])


def test_manifests_set_only_real_settings() -> None:
    settings = _setting_names()
    config = _kind("ConfigMap", "conjure-config")["data"]
    secret = yaml.safe_load((K8S / "secret.example.yaml").read_text())["stringData"]
    for key in [*config, *secret]:
        assert key in settings or EXTERNAL.match(key), f"{key} is not a Conjure setting"
    for doc in _manifests():
        if doc["kind"] not in ("Deployment", "Job"):
            continue
        for container in _containers(doc):
            refs = {
                ref["configMapRef"]["name"] if "configMapRef" in ref else ref["secretRef"]["name"]
                for ref in container["envFrom"]
            }
            assert refs == {"conjure-config", "conjure-secrets"}
            for var in container.get("env", []):
                assert var["name"] in settings or EXTERNAL.match(var["name"]), var["name"]


def test_probes_hit_routes_the_api_serves() -> None:
    from starlette.routing import Match

    from conjure.app import create_app

    app = create_app(settings=Settings(_env_file=None))

    def served(path: str) -> bool:
        scope = {
            "type": "http",
            "path": path,
            "method": "GET",
            "root_path": "",
            "headers": [],
            "query_string": b"",
        }
        return any(route.matches(scope)[0] is Match.FULL for route in app.routes)

    assert not served("/no-such-probe")
    api = _containers(_kind("Deployment", "conjure-api"))[0]
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        assert served(api[probe]["httpGet"]["path"])
    assert api["readinessProbe"]["httpGet"]["path"] == "/ready"
    assert api["livenessProbe"]["httpGet"]["path"] == "/health"


def test_worker_outlasts_the_longest_job_and_selectors_match() -> None:
    config = _kind("ConfigMap", "conjure-config")["data"]
    settings = Settings(
        _env_file=None, **{k.lower(): v for k, v in config.items() if k.lower() in Settings.model_fields}
    )
    longest = max(kind.time_limit(settings) for app in installed_apps() for kind in app.job_kinds)
    drain = float(config["SHUTDOWN_GRACE_SECONDS"])
    worker = _kind("Deployment", "conjure-worker")
    assert drain > longest, f"SHUTDOWN_GRACE_SECONDS {drain} must exceed the longest job ({longest} s)"
    assert worker["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] > drain
    assert (
        int(config["WORKER_METRICS_PORT"])
        == worker["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"]
    )
    compose_worker = _compose()["services"]["worker"]
    assert float(compose_worker["environment"]["SHUTDOWN_GRACE_SECONDS"]) > longest
    assert int(compose_worker["stop_grace_period"].rstrip("s")) > float(
        compose_worker["environment"]["SHUTDOWN_GRACE_SECONDS"]
    )
    for name in ("conjure-api", "conjure-worker"):
        labels = _kind("Deployment", name)["spec"]["template"]["metadata"]["labels"]
        selector = _kind("PodDisruptionBudget", name)["spec"]["selector"]["matchLabels"]
        assert selector.items() <= labels.items()
    service = _kind("Service", "conjure-api")["spec"]["selector"]
    assert (
        service.items()
        <= _kind("Deployment", "conjure-api")["spec"]["template"]["metadata"]["labels"].items()
    )
    hpa = _kind("HorizontalPodAutoscaler", "conjure-api")["spec"]["scaleTargetRef"]
    assert (hpa["kind"], hpa["name"]) == ("Deployment", "conjure-api")


def test_dockerfile_is_multi_stage_non_root_with_a_healthcheck() -> None:
    text = (ROOT / "Dockerfile").read_text()
    assert len(re.findall(r"^FROM ", text, flags=re.M)) >= 2
    user = re.findall(r"^USER (\S+)", text, flags=re.M)
    assert user
    assert not user[-1].startswith(("root", "0"))
    assert re.search(r"^HEALTHCHECK ", text, flags=re.M)
    for source in re.findall(r"^COPY (?!--from)(.+) \S+$", text, flags=re.M):
        for path in source.split():
            assert (ROOT / path).exists(), f"Dockerfile copies missing {path}"


def test_the_package_carries_every_file_the_app_reads(tmp_path: Path) -> None:
    """The image installs the wheel, not the source tree: templates, pages, prompts and
    migrations must all be in it (package data is a list of patterns that can fall behind)."""
    uv = shutil.which("uv", path=str(Path(sys.executable).parent))
    assert uv, "uv is installed in the project's virtualenv (make install)"
    # sdist first, then the wheel from it in a scratch directory (nothing is written into the checkout)
    subprocess.run([uv, "build", "-q", "-o", str(tmp_path), str(ROOT)], check=True, timeout=300)
    (wheel,) = tmp_path.glob("*.whl")
    packaged = set(zipfile.ZipFile(wheel).namelist())
    src = ROOT / "src"
    wanted = {
        path.relative_to(src).as_posix()
        for path in src.joinpath("conjure").rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }
    missing = sorted(wanted - packaged)
    assert not missing, f"not in the wheel: {missing[:10]}"


def test_the_image_builds_when_a_docker_daemon_runs() -> None:
    docker = shutil.which("docker")
    daemon = docker and subprocess.run([docker, "info"], capture_output=True, timeout=30).returncode == 0
    if not daemon:
        pytest.skip("no Docker daemon on this machine: the image build is checked where one runs")
    subprocess.run(
        [docker or "docker", "build", "-q", "-t", "conjure:test", str(ROOT)], check=True, timeout=1200
    )
