"""Measure the sentinel: inject labeled anomalies into real series and count what it flags.

Protocol, per symbol (``evaluate``):

1. Split the history at the first 1 January after its middle. Thresholds are calibrated on the
   first half (clean, as a user would on their history); everything is *measured* on the second
   half only, so the figures are out of sample.
2. A clean run scores the untouched second half: its flag rate is the false-positive rate of
   the data as it is.
3. One run per kind injects ``per_kind`` anomalies of that kind (seeded, :mod:`.injection`) and
   scores the second half: recall = labeled sessions flagged / labeled sessions, precision =
   labeled flagged / all flagged, FPR = unlabeled sessions flagged / unlabeled sessions.
4. A mixed run injects every kind at once (half as many each) for the overall figures.

"Flagged" is severity warning or critical; the critical-only recall is reported beside it.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd

from .config import SentinelConfig
from .injection import GROSS_KINDS, KINDS, inject

DEFAULT_SYMBOLS = ("ORCL", "NVDA", "YHOO")


@dataclass(frozen=True)
class Counts:
    """Confusion counts of one or more runs (sessions)."""

    labeled: int = 0
    detected: int = 0  # labeled and flagged (warning or critical)
    critical: int = 0  # labeled and critical
    clean: int = 0  # unlabeled sessions scored
    false_positives: int = 0  # unlabeled and flagged
    false_criticals: int = 0  # unlabeled and critical

    def __add__(self, other: Counts) -> Counts:
        return Counts(*(a + b for a, b in zip(self.astuple(), other.astuple())))

    def astuple(self) -> tuple[int, ...]:
        return (self.labeled, self.detected, self.critical, self.clean, self.false_positives,
                self.false_criticals)

    @property
    def recall(self) -> float:
        return self.detected / self.labeled if self.labeled else float("nan")

    @property
    def recall_critical(self) -> float:
        return self.critical / self.labeled if self.labeled else float("nan")

    @property
    def precision(self) -> float:
        flagged = self.detected + self.false_positives
        return self.detected / flagged if flagged else float("nan")

    @property
    def fpr(self) -> float:
        return self.false_positives / self.clean if self.clean else float("nan")

    @property
    def fpr_critical(self) -> float:
        return self.false_criticals / self.clean if self.clean else float("nan")


@dataclass(frozen=True)
class EvaluationResult:
    per_kind: dict[str, Counts]
    overall: Counts  # the mixed runs
    clean: Counts  # the untouched series
    symbols: tuple[str, ...]
    seed: int
    per_kind_count: int
    periods: dict[str, str] = field(default_factory=dict)  # symbol -> evaluated span
    seconds: float = 0.0
    calibrated: bool = True

    def gross_recall(self) -> float:
        total = sum((self.per_kind[k] for k in GROSS_KINDS if k in self.per_kind), Counts())
        return total.recall


def _counts(scores: pd.DataFrame, labels: pd.DataFrame) -> Counts:
    labeled = scores["session"].isin(set(labels["session"]))
    flagged = scores["severity"].isin(("warning", "critical"))
    crit = scores["severity"] == "critical"
    return Counts(
        labeled=int(labeled.sum()), detected=int((labeled & flagged).sum()),
        critical=int((labeled & crit).sum()), clean=int((~labeled).sum()),
        false_positives=int((~labeled & flagged).sum()), false_criticals=int((~labeled & crit).sum()),
    )


def split_date(bars: pd.DataFrame) -> date:
    """The first 1 January after the middle session of ``bars``."""
    days = pd.DatetimeIndex(bars["session"]).sort_values()
    middle = days[len(days) // 2]
    return date(middle.year + 1, 1, 1)


def _seed(seed: int, *words: int) -> int:
    return int(np.random.SeedSequence([seed, *words]).generate_state(1)[0])


def evaluate_symbol(
    bars: pd.DataFrame,
    exchange_sessions: Sequence[date],
    *,
    kinds: Sequence[str] = KINDS,
    per_kind: int = 20,
    seed: int = 7,
    symbol_index: int = 0,
    calibrate: bool = True,
    config: SentinelConfig | None = None,
    spacing: int = 15,
) -> tuple[dict[str, Counts], Counts, Counts, str]:
    """(per-kind counts, mixed-run counts, clean-run counts, evaluated span) of one symbol."""
    from .calibration import calibrate_bars
    from .sentinel import score_bars
    from .thresholds import Thresholds

    cfg = config or SentinelConfig()
    bars = bars.sort_values("session", kind="stable").reset_index(drop=True)
    cut = split_date(bars)
    th = Thresholds()
    if calibrate:
        th, _ = calibrate_bars(bars, exchange_sessions=exchange_sessions,
                               until=cut - pd.Timedelta(days=1), config=cfg)
    days = pd.DatetimeIndex(bars["session"]).date
    first_row = int(np.argmax(days >= cut))
    last = days[-1]
    evaluated = sorted(
        {d for d in days if d >= cut} | {d for d in exchange_sessions if cut <= d <= last}
    )

    def run(kind_list: Sequence[str], count: int, words: tuple[int, ...]) -> Counts:
        if count:
            corrupted, labels = inject(bars, kind_list, count, seed=_seed(seed, *words),
                                       first_row=first_row, spacing=spacing)
        else:
            corrupted, labels = bars, pd.DataFrame({"session": pd.Series([], dtype="datetime64[ns]")})
        scores = score_bars(corrupted, evaluated, exchange_sessions=exchange_sessions,
                            thresholds=th, config=cfg)
        return _counts(scores, labels)

    clean = run([], 0, (symbol_index, 0))
    by_kind = {k: run([k], per_kind, (symbol_index, 1, KINDS.index(k))) for k in kinds}
    mixed = run(list(kinds), max(1, per_kind // 2), (symbol_index, 2))
    return by_kind, mixed, clean, f"{evaluated[0]}..{evaluated[-1]}"


def evaluate(
    series: Mapping[str, pd.DataFrame],
    calendar,
    *,
    kinds: Sequence[str] = KINDS,
    per_kind: int = 20,
    seed: int = 7,
    calibrate: bool = True,
    config: SentinelConfig | None = None,
) -> EvaluationResult:
    """Run :func:`evaluate_symbol` on every series and add the counts up."""
    started = time.perf_counter()
    totals = {k: Counts() for k in kinds}
    overall = clean = Counts()
    periods = {}
    for i, (symbol, bars) in enumerate(series.items()):
        days = pd.DatetimeIndex(bars["session"])
        exchange = calendar.sessions(days.min().date(), days.max().date())
        by_kind, mixed, untouched, span = evaluate_symbol(
            bars, exchange, kinds=kinds, per_kind=per_kind, seed=seed, symbol_index=i,
            calibrate=calibrate, config=config,
        )
        totals = {k: totals[k] + by_kind[k] for k in kinds}
        overall, clean = overall + mixed, clean + untouched
        periods[symbol] = span
    return EvaluationResult(totals, overall, clean, tuple(series), seed, per_kind, periods,
                            time.perf_counter() - started, calibrate)


def load_series(data_dir, symbols: Sequence[str] = DEFAULT_SYMBOLS) -> dict[str, pd.DataFrame]:
    """Daily bars of ``symbols`` from a folder of Yahoo CSVs (e.g. ``../shared/data``)."""
    from research_lab.core.marketdata.sources import make_source

    source = make_source("csv", directory=str(data_dir))
    have = set(source.symbols())
    missing = [s for s in symbols if s not in have]
    if missing:
        raise ValueError(
            f"{data_dir}: no file for {', '.join(missing)} (has {', '.join(sorted(have))})"
        )
    return {s: source.fetch(s, date(1990, 1, 1), date.today()) for s in symbols}


def _pct(x: float) -> str:
    return "-" if x != x else f"{x:.1%}"


def markdown(result: EvaluationResult) -> str:
    """The figures as a markdown table (what docs/quality.md shows)."""
    lines = [
        "| kind | injected sessions | recall (warning+) | recall (critical) | precision | FPR |",
        "|---|---|---|---|---|---|",
    ]
    for kind, c in result.per_kind.items():
        name = f"**{kind}**" if kind in GROSS_KINDS else kind
        lines.append(f"| {name} | {c.labeled} | {_pct(c.recall)} | {_pct(c.recall_critical)} | "
                     f"{_pct(c.precision)} | {_pct(c.fpr)} |")
    o = result.overall
    lines.append(f"| all kinds mixed | {o.labeled} | {_pct(o.recall)} | {_pct(o.recall_critical)} | "
                 f"{_pct(o.precision)} | {_pct(o.fpr)} |")
    c = result.clean
    lines.append(f"| no injection | 0 | - | - | - | {_pct(c.fpr)} (critical {_pct(c.fpr_critical)}) |")
    spans = ", ".join(f"{s} {p}" for s, p in result.periods.items())
    lines.append("")
    how = ("thresholds calibrated on the first half" if result.calibrated
           else "built-in thresholds")
    lines.append(
        f"Symbols {spans} (sessions of the second half of each history; {how}); seed "
        f"{result.seed}, {result.per_kind_count} anomalies per kind and symbol; "
        f"{result.seconds:.0f} s. Gross kinds in bold: recall (warning+) "
        f"{_pct(result.gross_recall())}."
    )
    return "\n".join(lines)
