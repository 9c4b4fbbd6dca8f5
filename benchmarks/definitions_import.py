"""How long loading the Dagster definitions takes (goal < 2 s): every code-server load pays it.

    ./scripts/lab shell python benchmarks/definitions_import.py [--repeat 5]

Each sample is a fresh interpreter running ``import research_lab.definitions``; prints the
median, the interpreter's own start-up for comparison, and the slowest imports.
"""

import argparse
import statistics
import subprocess
import sys
import time


def sample(code: str) -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True)
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    sample("import research_lab.definitions")  # warm the file cache
    base = statistics.median(sample("pass") for _ in range(args.repeat))
    defs = [sample("import research_lab.definitions") for _ in range(args.repeat)]
    dagster = statistics.median(sample("import dagster") for _ in range(args.repeat))
    print(f"python start-up              {base:6.3f} s")
    print(f"import dagster               {dagster:6.3f} s")
    print(f"import research_lab.definitions {statistics.median(defs):6.3f} s "
          f"(median of {args.repeat}; min {min(defs):.3f}, max {max(defs):.3f}; goal < 2 s)")
    out = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import research_lab.definitions"],
        capture_output=True, text=True, check=True,
    ).stderr.splitlines()
    rows = []
    for line in out[1:]:
        parts = line.split("|")
        if len(parts) == 3 and parts[2].strip().count(".") == 0:
            rows.append((int(parts[1]), parts[2].strip()))
    print("slowest top-level imports (cumulative):")
    for us, name in sorted(rows, reverse=True)[:8]:
        print(f"  {name:28s} {us / 1e6:6.3f} s")


if __name__ == "__main__":
    main()
