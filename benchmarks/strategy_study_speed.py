"""Trials per second of a study objective: a user's backtrader strategy (each fold runs its own
code on backtrader), a two-data pairs strategy (a ``--together`` study: both symbols feed every
fold), and the same rule as the first as a built-in fast strategy.

    PYTHONPATH=. python benchmarks/strategy_study_speed.py [--bars 1000] [--trials 10]

Each "trial" scores 4 walk-forward folds of the last ``--bars`` bars of ORCL (the
``Evaluator`` a study uses): ``SMACrossover`` (examples/strategies/sma_crossover.py) on the
backtrader engine; ``PairsSpread`` (examples/strategies/pairs.py) on ORCL and NVDA aligned on
their shared sessions, on the backtrader engine; ``sma_cross`` on the fast engine. Printed:
trials/s, ms per trial and fold evaluations/s, and the ratios between them. One process; a
study scales with workers.
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
    parser.add_argument("--csv2", default=str(ROOT.parent / "shared" / "data" / "nvda-1999-2014.txt"),
                        help="the pairs strategy's second symbol")
    args = parser.parse_args()

    from research_lab.core.marketdata.sources import CsvDirSource
    from research_lab.core.optimize.objective import Evaluator
    from research_lab.core.strategies import get_strategy

    from research_lab.core.strategies.feeds import align_feeds

    def read(csv: str):
        path = Path(csv)
        return CsvDirSource(path.parent).read(path)

    first, second, _ = align_feeds(read(args.csv), [read(args.csv2)])
    bars = first.iloc[-args.bars:].reset_index(drop=True)
    other = second[0].iloc[-args.bars:].reset_index(drop=True)
    get_strategy(f"{ROOT}/examples/strategies/sma_crossover.py:SMACrossover")
    get_strategy(f"{ROOT}/examples/strategies/pairs.py:PairsSpread")
    folds = [(k * args.bars // 4, (k + 1) * args.bars // 4) for k in range(4)]
    cases = {  # name: (feeds, parameters, the parameter varied per trial)
        "SMACrossover": ((), {"fast": 10, "slow": 30, "printlog": False}, "fast"),
        "PairsSpread": ((other,), {"period": 20, "entry": 1.5}, "period"),
        "sma_cross": ((), {"fast": 10, "slow": 30}, "fast"),
    }
    speed = {}
    for name, (feeds, params, varied) in cases.items():
        ev = Evaluator(bars, name, feeds=feeds)
        for start, stop in folds:  # warm-up (numba compile, imports)
            ev.returns(params, start, stop)
        t0 = time.perf_counter()
        for i in range(args.trials):
            p = {**params, varied: params[varied] - 5 + i % 10}
            sig = ev.signal(p)
            for start, stop in folds:
                ev.returns(p, start, stop, signal=sig)
        dt = time.perf_counter() - t0
        speed[name] = args.trials / dt
        on = "+".join([bars["symbol"].iloc[0], *(f["symbol"].iloc[0] for f in feeds)])
        print(f"{name:>13} ({ev.ref.kind}, {on}): {speed[name]:10.1f} trials/s "
              f"({dt / args.trials * 1000:8.2f} ms per 4-fold trial, "
              f"{4 * speed[name]:10.1f} fold evaluations/s, {args.bars} bars)")
    print(f"ratios: sma_cross / SMACrossover {speed['sma_cross'] / speed['SMACrossover']:,.0f}x; "
          f"SMACrossover / PairsSpread {speed['SMACrossover'] / speed['PairsSpread']:.2f}x")


if __name__ == "__main__":
    sys.exit(main())
