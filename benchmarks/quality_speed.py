"""Speed of the sentinel on one symbol's whole history (goals: IF < 1 s, Prophet < 5 s).

    ./scripts/lab shell python benchmarks/quality_speed.py [--symbol ORCL] [--repeat 3]

Scores every session of a real series from ``../shared/data`` (ORCL: 5,036 sessions,
1995-2014; a 20-year synthetic series when that folder is absent) and prints, as medians:

- the rules and features alone, the Isolation Forest part, the Prophet part, and the whole
  ``score_bars`` call, in wall-clock seconds and CPU seconds (CPU includes cmdstan's child
  processes; on a busy shared machine wall time also counts waiting for a core);
- the designs not taken, for the ratios: scikit-learn's ``IsolationForest`` for the same yearly
  forests, and refitting Prophet for every session (extrapolated from 20 fits).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("RESEARCH_LAB_SHARED_DATA", ROOT.parent / "shared" / "data"))


def clock(fn):
    """(wall s, cpu s including children, result)."""
    t0, c0 = time.perf_counter(), os.times()
    result = fn()
    c1 = os.times()
    cpu = (c1.user - c0.user) + (c1.system - c0.system) + (c1.children_user - c0.children_user) + (
        c1.children_system - c0.children_system)
    return time.perf_counter() - t0, cpu, result


def load(symbol: str):
    from research_lab.core.marketdata.sources import make_source

    if (DATA / "orcl-1995-2014.txt").exists():
        return make_source("csv", directory=str(DATA)).fetch(symbol, date(1990, 1, 1), date.today())
    print(f"{DATA} not found: using 20 years of the synthetic source")
    src = make_source("synthetic", seed=42, symbols=("ACME",), start="2000-01-03", end="2019-12-31")
    return src.fetch("ACME", date(2000, 1, 3), date(2019, 12, 31))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--symbol", default="ORCL")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    import numpy as np

    from research_lab.core.quality.config import SentinelConfig
    from research_lab.core.quality.features import FEATURES, compute_evidence, to_daily
    from research_lab.core.quality.iforest import iforest_scores
    from research_lab.core.quality.prophet_scores import _fit_predict, prophet_scores
    from research_lab.core.quality.sentinel import score_bars
    from research_lab.core.quality.thresholds import Thresholds

    bars = load(args.symbol)
    cfg, th = SentinelConfig(), Thresholds()
    daily = to_daily(bars)
    ev = compute_evidence(daily, th, cfg)
    mask = np.ones(len(ev), dtype=bool)
    score_bars(bars.iloc[:800])  # warm-up: imports, cmdstan binary in the file cache
    years = daily["session"].dt.year.nunique()
    print(f"{args.symbol}: {len(daily)} sessions, {years} calendar years "
          f"(model blocks), median of {args.repeat} runs")

    def med(fn):
        runs = [clock(fn) for _ in range(args.repeat)]
        return statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)

    rows = [
        ("rules + features", med(lambda: compute_evidence(to_daily(bars), th, cfg)), None),
        ("Isolation Forest (numpy)", med(lambda: iforest_scores(ev, mask, cfg)), 1.0),
        ("Prophet close + volume", med(lambda: prophet_scores(ev, mask, th, cfg)), 5.0),
        ("score_bars, everything", med(lambda: score_bars(bars, config=cfg)), None),
    ]
    for name, (wall, cpu), goal in rows:
        verdict = "" if goal is None else f"  goal < {goal:.0f} s: {'ok' if wall < goal else 'MISSED'}"
        print(f"  {name:28s} wall {wall:6.2f} s   cpu {cpu:6.2f} s{verdict}")

    # the designs not taken
    from sklearn.ensemble import IsolationForest

    x = ev[list(FEATURES)].to_numpy()[-252:]
    x = x[np.isfinite(x).all(axis=1)]
    wall, _, _ = clock(lambda: [IsolationForest(n_estimators=cfg.if_trees_per_year, random_state=i).fit(x)
                                for i in range(5)])
    sk = wall / 5 * years
    if_wall = rows[1][1][0]
    print(f"  scikit-learn IsolationForest, same {years} yearly forests: fit ~{sk:.2f} s "
          f"({sk / if_wall:.1f}x the numpy forest's whole scoring)")
    ds = daily["session"].to_numpy()
    y = np.log(daily["close"].to_numpy())
    train = np.zeros(len(ds), dtype=bool)
    train[:cfg.prophet_window] = True
    span = slice(0, cfg.prophet_window + 1)
    wall, _, _ = clock(lambda: [_fit_predict(ds[span], y[span], train[span]) for _ in range(20)])
    per_session = wall / 20 * 2 * len(ds)
    p_wall = rows[2][1][0]
    print(f"  Prophet refit for every session (close + volume): ~{per_session:.0f} s "
          f"({per_session / p_wall:.0f}x the yearly blocks)")


if __name__ == "__main__":
    main()
