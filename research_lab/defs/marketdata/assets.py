"""The ``market_data`` asset: bars per symbol × session, written to the store.

Thin on purpose: parse the partition keys, call ``core.marketdata.ingest``, run the rule checks
of ``core.quality.bar_checks`` on what was stored, and return metadata. One run may cover a
whole range (the backfill policy is a single run), and writes each symbol's sessions in one
transaction.
"""


from collections import defaultdict
from datetime import date, timedelta

import dagster as dg

from research_lab.core.quality.bar_checks import CHECKS, ERROR, CheckOutcome, run_bar_checks
from research_lab.core.settings import load_settings
from research_lab.defs.partitions import market_partitions, split_market_key
from research_lab.defs.resources import CalendarResource, SourceResource, StoreResource

CHECK_CONTEXT_DAYS = 14  # earlier calendar days read as context for stale/extreme-move rules

market_data_check_specs = [
    dg.AssetCheckSpec(
        name,
        asset="market_data",
        description=f"[{severity}] {description}",
        blocking=severity == ERROR,
    )
    for name, (severity, description) in CHECKS.items()
]


def requests_from_keys(keys) -> dict[str, list[date]]:
    """``{symbol: [sessions]}`` from multi-partition keys."""
    out: dict[str, list[date]] = defaultdict(list)
    for key in keys:
        symbol, session = split_market_key(key)
        out[symbol].append(session)
    return {s: sorted(days) for s, days in out.items()}


def _merge(outcomes_by_symbol: dict[str, list[CheckOutcome]]) -> list[dg.AssetCheckResult]:
    results = []
    for name, (severity, _) in CHECKS.items():
        failing = []
        for symbol, outcomes in outcomes_by_symbol.items():
            outcome = next(o for o in outcomes if o.name == name)
            failing.extend(f"{symbol} {d.isoformat()}: {why}" for d, why in outcome.failing)
        results.append(
            dg.AssetCheckResult(
                check_name=name,
                passed=not failing,
                severity=dg.AssetCheckSeverity(severity),
                metadata={
                    "failing_sessions": len(failing),
                    "details": dg.MetadataValue.md(
                        "\n".join(f"- {f}" for f in failing[:50]) or "all sessions passed"
                    ),
                },
            )
        )
    return results


def _metadata(summaries) -> dict:
    rows = sum(s.rows for s in summaries)
    firsts = [s.first_timestamp for s in summaries if s.first_timestamp is not None]
    lasts = [s for s in summaries if s.last_timestamp is not None]
    holidays = sorted({d for s in summaries for d in s.holidays})
    md = {
        "rows": dg.MetadataValue.int(rows),
        "partitions": dg.MetadataValue.int(sum(len(s.sessions) for s in summaries)),
        "symbols": dg.MetadataValue.text(", ".join(s.symbol for s in summaries)),
        "source": dg.MetadataValue.text(", ".join(sorted({s.source for s in summaries}))),
        "data_version": dg.MetadataValue.text(
            summaries[0].data_version if len(summaries) == 1 else
            ",".join(f"{s.symbol}={s.data_version}" for s in summaries)
        ),
    }
    if firsts:
        md["first_timestamp"] = dg.MetadataValue.timestamp(min(firsts).to_pydatetime())
    if lasts:
        last = max(lasts, key=lambda s: s.last_timestamp)
        md["last_timestamp"] = dg.MetadataValue.timestamp(last.last_timestamp.to_pydatetime())
        md["last_close"] = dg.MetadataValue.float(float(last.last_close))
    if holidays:
        md["holidays"] = dg.MetadataValue.text(", ".join(d.isoformat() for d in holidays))
    if rows == 0:
        md["note"] = dg.MetadataValue.text(
            "no bars: " + ("exchange holiday (market closed)" if holidays else
                           "the source had no bars for these sessions")
        )
    if len(summaries) > 1:
        table = ["| symbol | sessions | rows | last close | data version |", "|---|---|---|---|---|"]
        for s in summaries:
            close = f"{s.last_close:.4f}" if s.last_close is not None else "-"
            table.append(f"| {s.symbol} | {len(s.sessions)} | {s.rows} | {close} | {s.data_version} |")
        md["by_symbol"] = dg.MetadataValue.md("\n".join(table))
    return md


@dg.asset(
    partitions_def=market_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    check_specs=market_data_check_specs,
    group_name="market_data",
    kinds={"python", "sql"},
    description="Daily OHLCV bars per symbol × session from the configured source, validated "
    "and stored (one transaction per symbol; a holiday partition is empty and says so).",
)
def market_data(
    context: dg.AssetExecutionContext,
    source: SourceResource,
    store: StoreResource,
    calendar: CalendarResource,
) -> dg.MaterializeResult:
    from research_lab.core.marketdata.ingest import ingest_partitions

    requests = requests_from_keys(context.partition_keys)
    src, st, cal = source.get(), store.open(), calendar.get()
    context.log.info(
        f"ingesting {sum(map(len, requests.values()))} partitions of {len(requests)} symbol(s) "
        f"from {src.name} into {st.url}"
    )
    summaries = ingest_partitions(src, st, cal, requests)

    settings = load_settings()
    outcomes = {}
    for symbol, days in requests.items():
        bars = st.read_bars(symbol, days[0] - timedelta(days=CHECK_CONTEXT_DAYS), days[-1])
        exchange_days = [d for d in cal.sessions(days[0], days[-1]) if d in set(days)]
        outcomes[symbol] = run_bar_checks(
            bars,
            days,
            exchange_days,
            stale_run=settings.stale_run,
            max_abs_log_return=settings.extreme_move_limit(symbol),
        )

    version = summaries[0].data_version if len(summaries) == 1 else None
    return dg.MaterializeResult(
        metadata=_metadata(summaries),
        check_results=_merge(outcomes),
        data_version=dg.DataVersion(version) if version else None,
    )
