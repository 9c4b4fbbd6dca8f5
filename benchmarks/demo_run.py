"""The whole demo against its goal (< 10 min on a 2-core machine, after the install).

    ./scripts/lab shell python benchmarks/demo_run.py                   # the defaults
    ./scripts/lab shell python benchmarks/demo_run.py -- --full-bookkeeping  # Dagster's defaults

Runs ``research-lab demo run`` (plus the arguments after ``--``) in a fresh
temporary ``RESEARCH_LAB_HOME`` and ``DAGSTER_HOME`` (the project's ``dagster.yaml``), then
prints the demo's seconds per stage, the wall time, its ratio to the goal, and the load average
at the start and the end (the machine is shared: quote it with the figure).
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GOAL_SECONDS = 600.0


def load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("demo_args", nargs="*", help="arguments for `demo run` (after --)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        (base / "dagster_home").mkdir()
        shutil.copy(ROOT / "dagster.yaml", base / "dagster_home" / "dagster.yaml")
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("RESEARCH_LAB_", "MLFLOW_", "DAGSTER_"))}
        env.update(RESEARCH_LAB_HOME=str(base / "home"), DAGSTER_HOME=str(base / "dagster_home"),
                   PYTHONPATH=str(ROOT))
        argv = [sys.executable, "-c", "import sys; from research_lab.cli import main; "
                "sys.exit(main())", "demo", "run", *args.demo_args]
        start_load = load()
        t0 = time.perf_counter()
        done = subprocess.run(argv, env=env, capture_output=True, text=True)
        wall = time.perf_counter() - t0
    lines = [line for line in done.stderr.splitlines() if line.startswith("[demo]")]
    print("\n".join(lines))
    print(f"demo run {' '.join(args.demo_args) or '(defaults)'}: {wall:.1f} s wall, exit code "
          f"{done.returncode}; goal {GOAL_SECONDS:.0f} s: ratio {wall / GOAL_SECONDS:.2f} "
          f"({'met' if wall < GOAL_SECONDS and done.returncode == 0 else 'NOT met'}); "
          f"load average {start_load} at the start, {load()} at the end")


if __name__ == "__main__":
    main()
