"""An idle worker's CPU: ``conjure worker`` on PostgreSQL + Redis with no jobs, per source tree.

The scheduler's timer loop (moving due retries, deadlines, parked jobs, reconciling, gauges) is
what an idle worker spends its CPU on. Each variant is a source tree (its ``src`` goes first on
``PYTHONPATH``); windows alternate A, B, A, B in one run so the box's noise hits both alike.

    .venv/bin/python bench/scheduler_idle.py --variants main=/work/main tidy=. --seconds 30 --rounds 2
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import RESULTS, conjure_env, infrastructure, process


def _cpu(proc: psutil.Process) -> float:
    times = proc.cpu_times()
    return float(times.user + times.system)


def measure(tree: Path, env: dict[str, str], *, warmup: float, seconds: float) -> float:
    """CPU seconds per minute of one idle worker process running ``tree``'s code."""
    variant_env = {**env, "PYTHONPATH": str(tree / "src"), "WORKER_METRICS_PORT": "0"}
    cmd = [sys.executable, "-m", "conjure.cli", "worker"]
    with process(cmd, variant_env) as proc:
        worker = psutil.Process(proc.pid)
        # Start-up (imports, the first reconcile) takes seconds on a loaded box: wait until the
        # process has used little CPU over two seconds, then ``warmup`` more.
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            start = _cpu(worker)
            time.sleep(2.0)
            if _cpu(worker) - start < 0.2:
                break
        time.sleep(warmup)
        before = _cpu(worker)
        time.sleep(seconds)
        if proc.poll() is not None:
            raise RuntimeError(f"the worker of {tree} exited")
        return (_cpu(worker) - before) * 60.0 / seconds


def main() -> None:
    raw = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=raw)
    parser.add_argument("--variants", nargs="+", default=["this=."], help="name=source tree")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--warmup", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--out", default="scheduler_idle.json")
    args = parser.parse_args()
    variants = [(name, Path(path).resolve()) for name, path in (v.split("=", 1) for v in args.variants)]
    figures: dict[str, list[float]] = {name: [] for name, _ in variants}
    with infrastructure("idle") as infra:
        env = conjure_env(infra)
        for _ in range(args.rounds):
            for name, tree in variants:
                cpu = measure(tree, env, warmup=args.warmup, seconds=args.seconds)
                figures[name].append(round(cpu, 3))
                print(f"{name}: {cpu:.3f} CPU s per minute", flush=True)
    load = os.getloadavg()[0]
    result = {
        "what": "idle `conjure worker` CPU seconds per minute (PostgreSQL + Redis, no jobs)",
        "window_seconds": args.seconds,
        "load_1m_at_end": round(load, 2),
        "cpu_seconds_per_minute": figures,
        "mean": {name: round(sum(v) / len(v), 3) for name, v in figures.items()},
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result["mean"]))


if __name__ == "__main__":
    main()
