"""Precision, recall and false-positive rate of the sentinel on real series with injected errors.

    ./scripts/lab shell python benchmarks/quality_evaluation.py [--per-kind 20] [--seed 7]
        [--symbols ORCL NVDA YHOO] [--no-calibrate] [--markdown out.md]
    ./scripts/lab shell python benchmarks/quality_evaluation.py --compare-solvers [--seed 7]

Reads ``../shared/data`` (or ``RESEARCH_LAB_SHARED_DATA``); the protocol is in
``research_lab/core/quality/evaluation.py`` (calibrate on the first half of each history,
inject seeded anomalies of every kind into the second half, count). Same as
``research-lab quality evaluate``; the figures in docs/quality.md come from the defaults.
Goal: recall >= 95% on the gross kinds (bold) with false positives on <= 1% of clean sessions.

``--compare-solvers`` runs the same evaluation twice, with Prophet's mode solved in-process
(``prophet_solver="exact"``, the default) and by Prophet itself (``"cmdstan"``), and prints
both tables and the differences in flagged sessions per kind.
"""

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def compare_solvers(seed: int, per_kind: int) -> int:
    from research_lab.core.marketdata.calendar import TradingCalendar
    from research_lab.core.quality.config import SentinelConfig
    from research_lab.core.quality.evaluation import evaluate, load_series, markdown

    data = Path(os.environ.get("RESEARCH_LAB_SHARED_DATA", ROOT.parent / "shared" / "data"))
    series = load_series(data)
    results = {}
    for solver in ("cmdstan", "exact"):
        results[solver] = evaluate(series, TradingCalendar(), per_kind=per_kind, seed=seed,
                                   config=SentinelConfig(prophet_solver=solver))
        print(f"### prophet_solver={solver}\n\n{markdown(results[solver])}\n")
    ref, new = results["cmdstan"], results["exact"]
    print("| kind | detected cmdstan / exact | critical cmdstan / exact "
          "| false positives cmdstan / exact |\n|---|---|---|---|")
    rows = [(k, ref.per_kind[k], new.per_kind[k]) for k in ref.per_kind]
    rows += [("all kinds mixed", ref.overall, new.overall), ("no injection", ref.clean, new.clean)]
    for kind, a, b in rows:
        print(f"| {kind} | {a.detected} / {b.detected} | {a.critical} / {b.critical} "
              f"| {a.false_positives} / {b.false_positives} |")
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--compare-solvers", action="store_true")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--per-kind", type=int, default=20)
    known, _ = parser.parse_known_args()
    if known.compare_solvers:
        sys.exit(compare_solvers(known.seed, known.per_kind))
    from research_lab.cli import main

    sys.exit(main(["quality", "evaluate", *sys.argv[1:]]))
