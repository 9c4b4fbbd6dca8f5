"""Trials per second of a study objective: a user's backtrader strategy (each fold runs its own
code on backtrader) against the same rule as a built-in fast strategy.

    PYTHONPATH=. python benchmarks/strategy_study_speed.py [--bars 1000] [--trials 10]

Each "trial" scores 4 walk-forward folds of the last ``--bars`` bars of ORCL (the
``Evaluator`` a study uses): ``SMACrossover`` (examples/strategies/sma_crossover.py) on the
backtrader engine, ``sma_cross`` on the fast engine. One process; a study scales with workers.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bars", type=int, default=1000)
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--csv", default=str(ROOT.parent / "shared" / "data" / "orcl-1995-2014.txt"))
    args = parser.parse_args()

    from research_lab.core.marketdata.sources import CsvDirSource
    from research_lab.core.optimize.objective import Evaluator
    from research_lab.core.strategies import get_strategy

    path = Path(args.csv)
    bars = CsvDirSource(path.parent).read(path).iloc[-args.bars:].reset_index(drop=True)
    get_strategy(f"{ROOT}/examples/strategies/sma_crossover.py:SMACrossover")
    folds = [(k * args.bars // 4, (k + 1) * args.bars // 4) for k in range(4)]
    for name in ("SMACrossover", "sma_cross"):
        ev = Evaluator(bars, name)
        params = {"fast": 10, "slow": 30, **({"printlog": False} if name == "SMACrossover" else {})}
        for start, stop in folds:  # warm-up (numba compile, imports)
            ev.returns(params, start, stop)
        t0 = time.perf_counter()
        for i in range(args.trials):
            p = {**params, "fast": 5 + i % 10}
            sig = ev.signal(p)
            for start, stop in folds:
                ev.returns(p, start, stop, signal=sig)
        dt = time.perf_counter() - t0
        print(f"{name:>13} ({ev.ref.kind}): {args.trials / dt:8.1f} trials/s "
              f"({dt / args.trials * 1000:.1f} ms per 4-fold trial, {args.bars} bars)")


if __name__ == "__main__":
    sys.exit(main())
