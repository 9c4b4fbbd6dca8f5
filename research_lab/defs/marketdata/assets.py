"""The ``market_data`` asset: bars per symbol × session, written to the store.

Thin on purpose: parse the partition keys, call ``core.marketdata.ingest``, run the rule checks
of ``core.quality.bar_checks`` on what was stored, and record each partition's materialization
with its own metadata and its own data version as the event's
(``partition_metadata.record_partition_metadata``: one batch of events, batched on PostgreSQL
with ``DAGSTER_EVENT_BATCH_SIZE``); the asset returns no output of its own, so Dagster adds no
range-wide materialization. A run that also materializes a downstream asset (the UI's
"materialize all") gets the output, so that the downstream steps run, and Dagster's events
(each partition's metadata, the run's data version). One run may cover a whole range (the
backfill policy is a single run) and writes each symbol's sessions in one transaction. A
symbol the source cannot serve fails alone: the others are recorded materialized, then the
step fails naming it, and Dagster marks exactly its partitions failed. Quarantined rows fail
``schema_ohlc``.
"""


from collections import defaultdict
from datetime import date, timedelta

import dagster as dg

from research_lab.core.quality.bar_checks import CHECKS, CheckOutcome, run_bar_checks
from research_lab.core.settings import load_settings
from research_lab.defs.marketdata.partition_metadata import (
    PartitionRecord,
    downstream_in_run,
    record_partition_metadata,
)
from research_lab.defs.partitions import market_key, market_partitions, split_market_key
from research_lab.defs.resources import CalendarResource, SourceResource, StoreResource

CHECK_CONTEXT_DAYS = 14  # earlier calendar days read as context for stale/extreme-move rules

SCHEMA_CHECK = "schema_ohlc"

market_data_check_specs = [
    dg.AssetCheckSpec(
        name,
        asset="market_data",
        description=f"[{severity}] {description}",
        # not blocking: one bad row must not skip the downstream partitions of every other
        # symbol in the run; the quality gate blocks that symbol's sessions instead
        blocking=False,
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


def _merge(
    outcomes_by_symbol: dict[str, list[CheckOutcome]], quarantined: dict[str, list[str]]
) -> list[dg.AssetCheckResult]:
    """One result per check over every symbol; quarantined rows fail ``schema_ohlc``."""
    results = []
    for name, (severity, _) in CHECKS.items():
        failing = []
        for symbol, outcomes in outcomes_by_symbol.items():
            outcome = next(o for o in outcomes if o.name == name)
            failing.extend(f"{symbol} {d.isoformat()}: {why}" for d, why in outcome.failing)
            if name == SCHEMA_CHECK:
                failing.extend(f"{symbol} quarantined {why}" for why in quarantined.get(symbol, []))
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


def partition_metadata(summary, result) -> dict:
    """The metadata of one (symbol, session) partition: its own rows, timestamps, version."""
    md = {
        "rows": dg.MetadataValue.int(result.rows),
        "source": dg.MetadataValue.text(summary.source),
        "data_version": dg.MetadataValue.text(result.data_version),
    }
    if result.first_timestamp is not None:
        md["first_timestamp"] = dg.MetadataValue.timestamp(result.first_timestamp.to_pydatetime())
        md["last_timestamp"] = dg.MetadataValue.timestamp(result.last_timestamp.to_pydatetime())
        md["last_close"] = dg.MetadataValue.float(result.last_close)
    if result.quarantined:
        reasons = [r.describe() for r in summary.rejects if r.session == result.session]
        md["quarantined_rows"] = dg.MetadataValue.int(result.quarantined)
        md["quarantine"] = dg.MetadataValue.md("\n".join(f"- {r}" for r in reasons))
    if result.rows == 0:
        md["note"] = dg.MetadataValue.text(
            "no bars: exchange holiday (market closed)" if result.holiday else
            "quarantined: every row of this session failed validation" if result.quarantined else
            "the source had no bar for this session"
        )
    return md


@dg.asset(
    partitions_def=market_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    check_specs=market_data_check_specs,
    output_required=False,
    group_name="market_data",
    kinds={"python", "sql"},
    description="Daily OHLCV bars per symbol × session from the configured source, validated "
    "and stored (one transaction per symbol). Invalid rows are quarantined with their reason; a "
    "symbol the source cannot serve fails alone; each partition records its own metadata.",
)
def market_data(
    context: dg.AssetExecutionContext,
    source: SourceResource,
    store: StoreResource,
    calendar: CalendarResource,
):
    from research_lab.core.marketdata.ingest import FutureSessionError, ingest_partitions

    requests = requests_from_keys(context.partition_keys)
    src, st, cal = source.get(), store.open(), calendar.get()
    context.log.info(
        f"ingesting {sum(map(len, requests.values()))} partitions of {len(requests)} symbol(s) "
        f"from {src.name} into {st.url}"
    )
    try:
        report = ingest_partitions(src, st, cal, requests)
    except FutureSessionError as exc:  # nothing fetched or written: one line, no traceback
        raise dg.Failure(description=str(exc), allow_retries=False) from None

    settings = load_settings()
    outcomes, quarantined = {}, {}
    records = [PartitionRecord(market_key(summary.symbol, result.session),
                               partition_metadata(summary, result), result.data_version)
               for summary in report.summaries for result in summary.per_session]
    # an output only where this run also materializes a downstream asset (else it is skipped)
    as_output = not report.failures and downstream_in_run(context)
    if as_output:  # Dagster's events: each partition's metadata, the run's data version
        for record in records:
            context.add_asset_metadata(dict(record.metadata),
                                       partition_key=str(record.partition_key))
    else:  # the stored partitions only (not a failed symbol's), each its own event and version
        record_partition_metadata(context, records)
    for summary in report.summaries:
        days = list(summary.sessions)
        bars = st.read_bars(summary.symbol, days[0] - timedelta(days=CHECK_CONTEXT_DAYS), days[-1])
        exchange_days = [d for d in cal.sessions(days[0], days[-1]) if d in set(days)]
        outcomes[summary.symbol] = run_bar_checks(
            bars,
            days,
            exchange_days,
            stale_run=settings.stale_run,
            max_abs_log_return=settings.extreme_move_limit(summary.symbol),
        )
        quarantined[summary.symbol] = [r.describe() for r in summary.rejects]
        if summary.rejects:
            context.log.warning(
                f"{summary.symbol}: {len(summary.rejects)} invalid row(s) quarantined: "
                + "; ".join(quarantined[summary.symbol][:5])
            )
    checks = _merge(outcomes, quarantined) if outcomes else []
    if as_output:
        yield dg.MaterializeResult(check_results=checks)
        return
    yield from checks
    if report.failures:
        lines = [f"{f.symbol} ({len(f.sessions)} partitions): {f.reason}" for f in report.failures]
        raise dg.Failure(
            description=f"{len(report.failures)} symbol(s) failed, the others were stored: "
            + "; ".join(lines),
            metadata={"failed_symbols": dg.MetadataValue.text(
                ", ".join(f.symbol for f in report.failures))},
        )
