"""How long the metrics take: the optimizer's hot path and the full report.

    ./scripts/lab shell python benchmarks/metrics_speed.py

``fast_metrics`` must be negligible next to a ~1 ms backtest (goal: tens of microseconds on
5,000 bars); the full quantstats-backed report is only computed where asked.
"""

import time
import timeit

import numpy as np
import pandas as pd


def main() -> None:
    from research_lab.core.metrics import fast_metrics, performance_report

    rng = np.random.default_rng(5)
    r = rng.normal(0.0004, 0.012, 5000)
    fast_metrics(r)
    per = min(timeit.repeat(lambda: fast_metrics(r), number=200, repeat=7)) / 200
    print(f"fast_metrics, 5,000 bars        {per * 1e6:8.1f} us per call (best of 7 x 200)")
    idx = pd.bdate_range("2005-01-03", periods=5000)
    series = pd.Series(r, index=idx)
    bench = pd.Series(rng.normal(0.0003, 0.01, 5000), index=idx)
    t0 = time.perf_counter()
    performance_report(series, benchmark=bench)
    first = time.perf_counter() - t0
    t0 = time.perf_counter()
    report = performance_report(series, benchmark=bench)
    print(f"performance_report (first call) {first:8.3f} s (includes importing quantstats)")
    print(f"performance_report              {time.perf_counter() - t0:8.3f} s, {len(report)} metrics")


if __name__ == "__main__":
    main()
