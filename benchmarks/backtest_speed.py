"""How fast is the fast engine? SMA crossover on ORCL (5,036 bars), next-open fills, 1 unit.

Compares, for one backtest and for a 100-combination sweep (fast 5..50 step 5 x slow 20..200
step 20, all 100 pairs as in MEASURED.md, so fast >= slow pairs are included):

* ``backtrader``: ``run_backtest(engine="backtrader")`` in a loop (~45 s for the sweep;
  ``--bt-combos N`` runs N of them and extrapolates);
* ``fast``: ``run_backtest`` / ``sweep`` (numba; compile time excluded, reported apart);
* ``vectorbt``: ``MA.run`` + ``crossed_above/below`` + ``Portfolio.from_signals`` with signals
  shifted one bar and ``price=open`` (only if ``import vectorbt`` works: it would move the
  project's pandas pin, so run this script with a throwaway venv that has it);
* ``fused``: one hand-written numba loop doing rolling sums, crossover, fills and Sharpe per
  combination: the physical limit for this computation on one thread.

Goals (issue "Backtesting"): fast sweep within 3x of fused, >= 10x faster than vectorbt,
>= 1,000x faster than backtrader. Agreement is checked too: the fast engine must equal
backtrader combination by combination; fused and vectorbt resolve exact ties differently
(naive rolling sums; a strict crossing rule), so they may differ on a few combinations.

Usage: ``python benchmarks/backtest_speed.py [--data DIR] [--bt-combos N] [--repeat N]``
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from research_lab.core.backtest import Prices, prices_from_bars, run_backtest, sweep  # noqa: E402

FASTS = list(range(5, 55, 5))
SLOWS = list(range(20, 220, 20))
GRID = {"fast": FASTS, "slow": SLOWS}
ONE = {"fast": 10, "slow": 30}
CASH = 10_000.0


def load_orcl(folder: Path) -> pd.DataFrame:
    raw = pd.read_csv(folder / "orcl-1995-2014.txt")
    return pd.DataFrame(
        {
            "symbol": "ORCL",
            "session": pd.to_datetime(raw["Date"]),
            **{k.lower(): raw[k].astype(float) for k in ("Open", "High", "Low", "Close")},
        }
    )


def timed(fn: Callable[[], object], repeat: int) -> tuple[float, object]:
    """Median wall time of ``repeat`` calls (seconds) and the last result."""
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def interleaved(fns: dict[str, Callable[[], object]], repeat: int) -> dict[str, tuple[float, float]]:
    """(median, min) wall time of each function, calls interleaved so that a busy machine
    slows all of them alike (the ratios are what matter)."""
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeat):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    return {name: (statistics.median(t), min(t)) for name, t in times.items()}


# ---------------------------------------------------------------- the reference: one fused loop
def make_fused():
    from numba import njit

    @njit(cache=False)
    def fused(open_, close, fasts, slows, cash0, out):
        n = close.shape[0]
        for k in range(fasts.shape[0]):
            pf, ps = fasts[k], slows[k]
            sf = ss = 0.0
            cash, pos, pending = cash0, 0.0, 0.0
            prev, s1, s2 = cash0, 0.0, 0.0
            nzd, seeded = 0.0, False
            for t in range(n):
                if pending != 0.0:  # market order from the previous close fills at the open
                    cash -= pending * open_[t]
                    pos += pending
                    pending = 0.0
                x = close[t]
                sf += x
                ss += x
                if t >= pf:
                    sf -= close[t - pf]
                if t >= ps:
                    ss -= close[t - ps]
                value = cash + pos * x
                r = value / prev - 1.0
                s1 += r
                s2 += r * r
                prev = value
                if t >= pf - 1 and t >= ps - 1:
                    d = sf / pf - ss / ps
                    if seeded:
                        if nzd < 0.0 and d > 0.0 and pos == 0.0:
                            pending = 1.0
                        elif nzd > 0.0 and d < 0.0 and pos > 0.0:
                            pending = -pos
                    seeded = True
                    if d != 0.0:
                        nzd = d
            mean = s1 / n
            var = (s2 - s1 * mean) / (n - 1)
            out[k, 0] = prev
            out[k, 1] = mean / math.sqrt(var) * math.sqrt(252.0) if var > 0 else np.nan

    return fused


# ---------------------------------------------------------------- vectorbt, if importable
def vectorbt_runner(bars: pd.DataFrame):
    try:
        import vectorbt as vbt
    except Exception as exc:  # noqa: BLE001 - any import failure means "not available"
        return None, f"not importable ({type(exc).__name__}: {str(exc)[:60]})"
    vbt.settings.returns["year_freq"] = "252 days"
    close = pd.Series(bars["close"].to_numpy(), index=pd.DatetimeIndex(bars["session"]))
    open_ = pd.Series(bars["open"].to_numpy(), index=close.index)

    def run(fasts: list[int], slows: list[int]) -> tuple[np.ndarray, np.ndarray]:
        cols = pd.RangeIndex(len(fasts))
        fast = vbt.MA.run(close, window=fasts).ma
        slow = vbt.MA.run(close, window=slows).ma
        fast.columns = slow.columns = cols
        entries = fast.vbt.crossed_above(slow).shift(1, fill_value=False)
        exits = fast.vbt.crossed_below(slow).shift(1, fill_value=False)
        pf = vbt.Portfolio.from_signals(
            close, entries, exits, price=open_, size=1.0, init_cash=CASH, freq="1D"
        )
        return np.asarray(pf.final_value()), np.asarray(pf.sharpe_ratio())

    return run, f"vectorbt {vbt.__version__}"


# ---------------------------------------------------------------- compile time, cold
COLD = """
import json, sys, time
sys.path.insert(0, {root!r})
from benchmarks.backtest_speed import load_orcl, GRID, ONE
from pathlib import Path
from research_lab.core.backtest import prices_from_bars, run_backtest, sweep
prices = prices_from_bars(load_orcl(Path({data!r})))
t0 = time.perf_counter(); run_backtest(prices, "sma_cross", ONE); t1 = time.perf_counter()
sweep(prices, "sma_cross", GRID, constraints=False); t2 = time.perf_counter()
print(json.dumps({{"run": t1 - t0, "sweep": t2 - t1}}))
"""


def cold_compile(data: Path) -> dict[str, float]:
    """First calls in a fresh process with an empty numba cache (compilation)."""
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache}
        code = COLD.format(root=str(ROOT), data=str(data))
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                             text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    default_data = os.environ.get("RESEARCH_LAB_SHARED_DATA", str(ROOT.parent / "shared" / "data"))
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path(default_data))
    ap.add_argument("--bt-combos", type=int, default=100,
                    help="backtrader runs this many of the 100 combinations (default all)")
    ap.add_argument("--repeat", type=int, default=30, help="timing repetitions (fast paths)")
    args = ap.parse_args()

    bars = load_orcl(args.data)
    prices: Prices = prices_from_bars(bars)
    n = len(prices)
    combos = [(f, s) for f in FASTS for s in SLOWS]
    fasts = np.array([c[0] for c in combos], dtype=np.int64)
    slows = np.array([c[1] for c in combos], dtype=np.int64)
    print(f"ORCL {n} bars, {len(combos)} combinations, python {sys.version.split()[0]}")

    # -- compile / cache-load times (excluded from every timing below)
    cold = cold_compile(args.data)
    t0 = time.perf_counter()
    run_backtest(prices, "sma_cross", ONE)
    sweep(prices, "sma_cross", GRID, constraints=False)
    warm_load = time.perf_counter() - t0
    fused = make_fused()
    out = np.empty((len(combos), 2))
    t0 = time.perf_counter()
    fused(prices.open, prices.close, fasts[:1], slows[:1], CASH, out)
    fused_compile = time.perf_counter() - t0

    rows: dict[str, dict[str, float | None]] = {}

    # -- fast engine and the fused reference, interleaved
    fused_out = np.empty((len(combos), 2))
    t = interleaved(
        {
            "fast_one": lambda: run_backtest(prices, "sma_cross", ONE),
            "fast_one_sweep": lambda: sweep(prices, "sma_cross", {"fast": [10], "slow": [30]}),
            "fast_sweep": lambda: sweep(prices, "sma_cross", GRID, constraints=False),
            "fused_one": lambda: fused(prices.open, prices.close, fasts[:1], slows[:1], CASH, out),
            "fused_sweep": lambda: fused(prices.open, prices.close, fasts, slows, CASH, fused_out),
        },
        args.repeat,
    )
    res_fast = run_backtest(prices, "sma_cross", ONE)
    tab_fast = sweep(prices, "sma_cross", GRID, constraints=False)
    sw_fast_frame, _ = timed(lambda: sweep(bars, "sma_cross", GRID, constraints=False), 5)
    rows["fast"] = {"one": t["fast_one"][0], "sweep": t["fast_sweep"][0]}
    rows["fast*"] = {"one": t["fast_one_sweep"][0], "sweep": None}
    rows["fused"] = {"one": t["fused_one"][0], "sweep": t["fused_sweep"][0]}
    one_fast, sw_fast, sw_fused = t["fast_one"][0], t["fast_sweep"][0], t["fused_sweep"][0]
    fused(prices.open, prices.close, fasts, slows, CASH, fused_out)

    # -- vectorbt
    vbt_run, vbt_note = vectorbt_runner(bars)
    if vbt_run is not None:
        vbt_run([10], [30])  # warm its numba functions (for 1 and for 100 columns)
        vbt_run(list(fasts), list(slows))
        one_vbt, _ = timed(lambda: vbt_run([10], [30]), 5)
        sw_vbt, (vbt_values, _) = timed(lambda: vbt_run(list(fasts), list(slows)), 5)
        rows["vectorbt"] = {"one": one_vbt, "sweep": sw_vbt}

    # -- backtrader
    one_bt, res_bt = timed(lambda: run_backtest(prices, "sma_cross", ONE, engine="backtrader"), 3)
    k = max(1, min(args.bt_combos, len(combos)))
    t0 = time.perf_counter()
    bt_values = [  # through sweep(): run_backtest refuses fast >= slow (the constraint)
        sweep(prices, "sma_cross", {"fast": [f], "slow": [s]}, engine="backtrader",
              constraints=False)["final_value"].iloc[0]
        for f, s in combos[:k]
    ]
    sw_bt = (time.perf_counter() - t0) * len(combos) / k
    rows["backtrader"] = {"one": one_bt, "sweep": sw_bt}

    # -- report
    print(f"\ncompile: fast engine cold {cold['run'] + cold['sweep']:.2f} s "
          f"(run_backtest {cold['run']:.2f} s + sweep {cold['sweep']:.2f} s), "
          f"from cache {warm_load:.2f} s; fused loop {fused_compile:.2f} s; vectorbt: {vbt_note}")
    print(f"\n{'engine':<11}{'one backtest':>14}{'bars/s':>12}{'100-combo sweep':>18}"
          f"{'bars/s':>12}{'sweep / fused':>15}")
    for name, r in rows.items():
        extra = f" (x100/{k} of {k} runs)" if name == "backtrader" and k < len(combos) else ""
        sweep_cols = (
            f"{r['sweep'] * 1e3:>15.3f} ms{n * len(combos) / r['sweep']:>12.3g}"
            f"{r['sweep'] / sw_fused:>14.1f}x"
            if r["sweep"] is not None else f"{'-':>18}{'-':>12}{'-':>15}"
        )
        print(f"{name:<11}{r['one'] * 1e3:>11.3f} ms{n / r['one']:>12.3g}{sweep_cols}{extra}")
    print(f"(fast sweep from a bar frame, including its conversion: {sw_fast_frame * 1e3:.3f} ms)")

    print("fast*: the same engine through sweep() with one combination (numbers, no tables)")
    print("\nratios for the sweep (goals: fast/fused <= 3, vectorbt/fast >= 10, "
          "backtrader/fast >= 1000)")
    print(f"  fast / fused        {sw_fast / sw_fused:8.2f}   "
          f"(best of {args.repeat}: {t['fast_sweep'][1] / t['fused_sweep'][1]:.2f}, "
          f"{t['fast_sweep'][1] * 1e3:.3f} ms vs {t['fused_sweep'][1] * 1e3:.3f} ms)")
    if "vectorbt" in rows:
        print(f"  vectorbt / fast     {rows['vectorbt']['sweep'] / sw_fast:8.1f}")
    print(f"  backtrader / fast   {sw_bt / sw_fast:8.0f}")
    print(f"  one backtest: backtrader / fast run_backtest {one_bt / one_fast:.0f}x")

    fast_values = tab_fast["final_value"].to_numpy()
    same_bt = np.array_equal(fast_values[:k], np.array(bt_values))
    print("\nagreement of final values with the fast engine:")
    print(f"  backtrader: {k} combinations, identical: {same_bt}; one run: orders identical "
          f"{res_fast.orders.equals(res_bt.orders)}, value {res_fast.final_value:.6f} vs "
          f"{res_bt.final_value:.6f}")
    diff_fused = int((np.abs(fused_out[:, 0] - fast_values) > 1e-9).sum())
    print(f"  fused: {diff_fused} of {len(combos)} differ (exact ties seen by naive rolling sums)")
    if "vectorbt" in rows:
        diff_vbt = int((np.abs(vbt_values - fast_values) > 1e-6).sum())
        print(f"  vectorbt: {diff_vbt} of {len(combos)} differ")


if __name__ == "__main__":
    main()
