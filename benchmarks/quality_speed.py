"""Speed of the data-quality sentinel at universe scale (issue #14: 500 symbols x 20 years).

    ./scripts/lab shell python benchmarks/quality_speed.py [--symbols 500] [--repeat 3]
        [--store-url postgresql://postgres@127.0.0.1:5432/DB] [--skip-nightly]

Builds stores from the synthetic source under a temporary folder (or in the given PostgreSQL
database, which must exist and be empty) and prints, with the load average next to each
figure (the machine is shared: wall time includes waiting for a core; CPU time is this process
plus its children):

1. one symbol x 20 years through ``score_quality`` (read, score, quarantine, write): the first
   call in the process (cold: first use of every code path) and the median of ``--repeat``
   more (warm), with Prophet solved in-process (the default) and by Prophet itself (cmdstan),
   and where the time goes (store read, features, Isolation Forest, Prophet, decisions, write);
2. a 20-year backfill of 8 symbols with ``workers=1`` and ``workers=2``, and its
   extrapolation to 500 symbols x 20 years (goal: well under 8 minutes on 2 cores);
3. the nightly: ``--symbols`` symbols x 1 new session (goal: < 20 s), ``workers=1`` and 2.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from datetime import date
from pathlib import Path

START, END = date(2000, 1, 3), date(2019, 12, 31)
NIGHTLY_FROM = date(2015, 6, 1)  # 3 training years + warm-up before 2019 (the nightly's year)


def clock(fn):
    """(wall s, cpu s including children, result)."""
    t0, c0 = time.perf_counter(), os.times()
    result = fn()
    c1 = os.times()
    cpu = sum(b - a for a, b in zip(c0[:4], c1[:4]))
    return time.perf_counter() - t0, cpu, result


def load() -> str:
    return "load %.1f" % os.getloadavg()[0]


def fill(store, calendar, symbols, start, end, *, drop_last: bool = False) -> None:
    """Synthetic bars of ``symbols`` from ``start`` to ``end`` (without ``end`` if asked)."""
    from research_lab.core.marketdata.sources import SyntheticSource

    src = SyntheticSource(seed=42, symbols=tuple(symbols), start=start.isoformat(),
                          end=end.isoformat(), calendar=calendar)
    items = []
    for sym in symbols:
        bars = src.fetch(sym, start, end)
        if drop_last:
            bars = bars[bars["session"].dt.date < end]
        items.append((sym, calendar.sessions(start, end)[: -1 if drop_last else None], bars, ()))
        if len(items) == 50:
            store.write_many(items, source="bench")
            items = []
    if items:
        store.write_many(items, source="bench")


def stages(store, calendar, symbol, days) -> dict[str, float]:
    """CPU seconds of each stage of scoring one symbol's ``days`` (what score_partitions does;
    CPU, not wall, so that other processes on a busy machine do not distort the shares)."""
    import numpy as np

    from research_lab.core.marketdata.store import write_scores
    from research_lab.core.quality.config import SentinelConfig
    from research_lab.core.quality.features import compute_evidence, to_daily
    from research_lab.core.quality.iforest import iforest_scores
    from research_lab.core.quality.prophet_scores import prophet_scores
    from research_lab.core.quality.sentinel import score_bars, with_quarantine
    from research_lab.core.quality.thresholds import Thresholds

    cfg, th = SentinelConfig(), Thresholds()
    out = {}
    t = time.process_time()
    bars = store.read_bars(symbol, cfg.context_start(days[0]), days[-1])
    out["store read"] = time.process_time() - t
    t = time.process_time()
    ev = compute_evidence(to_daily(bars), th, cfg)
    out["rules + features"] = time.process_time() - t
    mask = ev["session"].dt.date.isin(set(days)).to_numpy()
    t = time.process_time()
    iforest_scores(ev, mask, cfg)
    out["Isolation Forest"] = time.process_time() - t
    t = time.process_time()
    prophet_scores(ev, mask, th, cfg)
    out["Prophet (exact)"] = time.process_time() - t
    t = time.process_time()
    scores = score_bars(bars, days, exchange_sessions=calendar.sessions(days[0], days[-1]),
                        thresholds=th, config=cfg, symbol=symbol)
    whole = time.process_time() - t
    out["decisions, versions, frame"] = max(0.0, whole - sum(list(out.values())[1:]))
    t = time.process_time()
    scores = with_quarantine(store, symbol, days, scores)
    out["quarantine"] = time.process_time() - t
    t = time.process_time()
    write_scores(store, symbol, days, scores)
    out["store write"] = time.process_time() - t
    assert np.isfinite(list(out.values())).all()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--symbols", type=int, default=500, help="symbols of the nightly")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--store-url", default=None, help="an empty PostgreSQL database")
    parser.add_argument("--skip-nightly", action="store_true")
    args = parser.parse_args()

    from research_lab.core.marketdata.calendar import TradingCalendar
    from research_lab.core.marketdata.store import BarStore
    from research_lab.core.quality.config import SentinelConfig
    from research_lab.core.quality.sentinel import score_partitions
    from research_lab.core.usecases.quality import score_quality

    calendar = TradingCalendar("XNYS")
    tmp = Path(tempfile.mkdtemp(prefix="quality_speed_"))
    url = args.store_url or f"sqlite:///{tmp / 'history.db'}"
    store = BarStore.from_url(url)
    backend = store.backend
    history = [f"H{i:02d}" for i in range(9)]
    wall, _, _ = clock(lambda: fill(store, calendar, history, START, END))
    days = calendar.sessions(START, END)
    print(f"{backend}: {len(history)} symbols x {len(days)} sessions (20 years) written in "
          f"{wall:.1f} s ({load()})")

    # 1. one symbol x 20 years
    def one(sym, **kw):
        return clock(lambda: score_quality(store, {sym: days}, calendar=calendar, workers=1, **kw))

    cold = one(history[0])
    warm = [one(history[0]) for _ in range(args.repeat)]
    print(f"\n1. one symbol x 20 years, score_quality(workers=1), {load()}")
    print(f"   cold (first call)        wall {cold[0]:6.2f} s   cpu {cold[1]:6.2f} s")
    warm_wall = statistics.median(w[0] for w in warm)
    print(f"   warm (median of {args.repeat})       wall {warm_wall:6.2f} s"
          f"   cpu {statistics.median(w[1] for w in warm):6.2f} s")
    book_cfg = SentinelConfig(prophet_solver="cmdstan")
    ref = clock(lambda: score_partitions(store, history[0], days, calendar=calendar,
                                         config=book_cfg))
    print(f"   with Prophet's own fit (cmdstan, the previous path): wall {ref[0]:6.2f} s   "
          f"cpu {ref[1]:6.2f} s ({ref[1] / statistics.median(w[1] for w in warm):.1f}x the CPU)")
    parts = stages(store, calendar, history[0], days)
    total = sum(parts.values())
    print(f"   where the time goes (CPU, {load()}):")
    for name, sec in parts.items():
        print(f"     {name:28s} {sec:6.3f} s  {sec / total:5.1%}")

    # 2. a backfill of 8 symbols x 20 years, workers 1 and 2, and the extrapolation
    eight = {sym: days for sym in history[1:]}
    print(f"\n2. {len(eight)} symbols x 20 years")
    per = {}
    for workers in (1, 2):
        w, c, _ = clock(lambda: score_quality(store, eight, calendar=calendar, workers=workers))
        per[workers] = w
        print(f"   workers={workers}: wall {w:6.2f} s   cpu {c:6.2f} s   "
              f"{w / len(eight):.2f} s/symbol   ({load()})")
    print(f"   speed-up of 2 workers: {per[1] / per[2]:.2f}x (on a busy machine the second "
          f"worker waits for a core)")
    est = per[2] / len(eight) * 500
    cpu_one = statistics.median(w[1] for w in warm)
    idle = 500 * cpu_one / 2
    print(f"   extrapolated 500 symbols x 20 years with 2 workers: {est / 60:.1f} min at this "
          f"load; {idle / 60:.1f} min CPU-bound on 2 free cores (500 x {cpu_one:.2f} CPU-s / 2) "
          f"(goal < 8 min: {'ok' if idle < 480 else 'MISSED'})")
    store.close()

    if args.skip_nightly:
        return
    # 3. the nightly: N symbols x 1 new session (their history holds the years the models need)
    nurl = f"sqlite:///{tmp / 'nightly.db'}" if args.store_url is None else args.store_url
    nstore = BarStore.from_url(nurl) if args.store_url is None else BarStore.from_url(url)
    symbols = [f"N{i:03d}" for i in range(args.symbols)]
    new_day = date(2019, 12, 31)
    wall, _, _ = clock(lambda: fill(nstore, calendar, symbols, NIGHTLY_FROM, new_day,
                                    drop_last=True))
    print(f"\n3. nightly: {len(symbols)} symbols with {NIGHTLY_FROM}..{new_day} history "
          f"(written in {wall:.0f} s); ingest + score of the new session {new_day}")
    w, _, _ = clock(lambda: fill(nstore, calendar, symbols, new_day, new_day))
    print(f"   the new session's synthetic bars generated and written (write_many, 50 symbols a "
          f"transaction; not the Dagster ingest): {w:.1f} s ({load()})")
    for workers in (1, 2):
        w, c, run = clock(lambda: score_quality(nstore, {s: [new_day] for s in symbols},
                                                calendar=calendar, workers=workers))
        print(f"   score, workers={workers}: wall {w:6.2f} s   cpu {c:6.2f} s   "
              f"{1000 * c / len(symbols):.0f} ms CPU/symbol   ({load()})"
              + (f"   goal < 20 s: {'ok' if w < 20 else 'MISSED'}" if workers == 2 else ""))
    nstore.close()


if __name__ == "__main__":
    main()
