"""The ``market_data`` asset: bars per symbol × year, each session written to the store.

Thin on purpose: turn the partition keys (symbol × year) and the run config's ``start``/``end``
into ``{symbol: [sessions]}`` (:func:`requests_from_keys`; without ``end``, only sessions that
have closed, so a partition of the current year never records a session that has not
happened; an explicit ``end`` in the future fails the run with one line before anything is
written), call ``core.marketdata.ingest``, run the rule checks of ``core.quality.bar_checks``
on what was stored, and record each YEAR partition's materialization with its own metadata
(sessions written by this run, sessions stored in the year, rows, first/last session, missing
exchange sessions, quarantined rows, all read from the store's ledger) and its own data
version (a hash of the year's per-session versions, so it changes only when some session's
data changed), as one batch of events (``partition_metadata.record_partition_metadata``,
batched on PostgreSQL with ``DAGSTER_EVENT_BATCH_SIZE``). The asset returns no output of its
own, so Dagster adds no range-wide materialization; a run that also materializes a downstream
asset (the UI's "materialize all") gets the output, so that the downstream steps run. One run
may cover a whole range (the backfill policy is a single run). A symbol the source cannot
serve fails alone: the others' year partitions are recorded materialized, then the step fails
naming it, and Dagster marks exactly its partitions failed. Quarantined rows fail
``schema_ohlc``.
"""


import hashlib
from datetime import date, timedelta
from typing import Optional

import dagster as dg
from pydantic import Field

from research_lab.core.quality.bar_checks import CHECKS, CheckOutcome, run_bar_checks
from research_lab.core.settings import load_settings
from research_lab.defs.marketdata.partition_metadata import (
    PartitionRecord,
    downstream_in_run,
    record_partition_metadata,
)
from research_lab.defs.partitions import market_key, market_partitions, sessions_of_keys
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


class MarketDataConfig(dg.Config):
    """Which sessions of the run's year partitions to ingest (ISO dates; both optional)."""

    start: Optional[str] = Field(
        default=None, description="First session to ingest (YYYY-MM-DD); unset: January 1st "
        "of each partition's year.")
    end: Optional[str] = Field(
        default=None, description="Last session to ingest (YYYY-MM-DD); unset: the last "
        "session that has closed (a session in the future, when set, fails the run before "
        "anything is written).")


def config_range(config) -> tuple[date | None, date | None]:
    """(start, end) of an asset's config; one line naming the field when a value is bad."""
    bounds = []
    for name in ("start", "end"):
        text = getattr(config, name)
        try:
            bounds.append(date.fromisoformat(text) if text else None)
        except ValueError:
            raise dg.Failure(description=f"config {name}: {text!r} is not a date (YYYY-MM-DD)",
                             allow_retries=False) from None
    if bounds[0] and bounds[1] and bounds[1] < bounds[0]:
        raise dg.Failure(description=f"config end {bounds[1]} is before start {bounds[0]}",
                         allow_retries=False)
    return bounds[0], bounds[1]


def requests_from_keys(keys, start: date | None = None, end: date | None = None, *,
                       calendar=None, now=None) -> dict[str, list[date]]:
    """``{symbol: [sessions]}``: the weekdays of each key's year within [start, end]. Without
    ``end``, only the days that have happened at ``now`` (in ``calendar``): a partition of the
    current year never asks for a session that has not closed."""
    requests = sessions_of_keys(keys, start, end)
    if end is None and calendar is not None:
        from research_lab.core.marketdata.ingest import not_yet_happened

        days = {d for ds in requests.values() for d in ds}
        early = set(not_yet_happened(calendar, days, now))
        requests = {s: [d for d in ds if d not in early] for s, ds in requests.items()}
        requests = {s: ds for s, ds in requests.items() if ds}
    return requests


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


MISSING_LISTED = 20  # missing sessions named in a year partition's metadata (the rest counted)


def year_version(ledger) -> str:
    """The data version of a year partition: a hash of its sessions' data versions (changes
    only when some session's stored data changed)."""
    text = "\n".join(f"{pd_date(s)}={v}" for s, v in zip(ledger["session"], ledger["data_version"]))
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest() if len(ledger) else "empty"


def pd_date(value) -> date:
    return value.date() if hasattr(value, "date") else value


def year_metadata(year: int, written, ledger, exchange: list[date], source: str,
                  rejects=()) -> dict:
    """The metadata of one (symbol, year) partition: the sessions this run wrote (``written``:
    a frame of ``SessionResults.frame()`` rows, in session order), and from the store's ledger
    of that year (``ledger``) the sessions stored, rows, first/last session and the exchange
    sessions (``exchange``, closed ones) missing."""
    import pandas as pd

    stored = {pd_date(s): int(r) for s, r in zip(ledger["session"], ledger["rows"])}
    with_bars = sorted(d for d, r in stored.items() if r > 0)
    missing = [d for d in exchange if stored.get(d, 0) == 0]
    written_days = [pd_date(d) for d in written["session"]]
    md = {
        "year": dg.MetadataValue.int(year),
        "sessions_written": dg.MetadataValue.int(len(written)),
        "written": dg.MetadataValue.text(
            f"{written_days[0]}..{written_days[-1]}" if written_days else "none"),
        "rows_written": dg.MetadataValue.int(int(written["rows"].sum())),
        "sessions_stored": dg.MetadataValue.int(len(stored)),
        "rows": dg.MetadataValue.int(sum(stored.values())),
        "missing_sessions": dg.MetadataValue.int(len(missing)),
        "source": dg.MetadataValue.text(source),
        "data_version": dg.MetadataValue.text(year_version(ledger)),
    }
    if with_bars:
        md["first_session"] = dg.MetadataValue.text(with_bars[0].isoformat())
        md["last_session"] = dg.MetadataValue.text(with_bars[-1].isoformat())
    if missing:
        more = f" and {len(missing) - MISSING_LISTED} more" if len(missing) > MISSING_LISTED else ""
        md["missing"] = dg.MetadataValue.text(
            ", ".join(d.isoformat() for d in missing[:MISSING_LISTED]) + more)
    with_rows = written[written["rows"] > 0]
    if len(with_rows):
        last = with_rows.iloc[-1]
        md["last_timestamp"] = dg.MetadataValue.timestamp(
            pd.Timestamp(last["last_timestamp"]).to_pydatetime())
        md["last_close"] = dg.MetadataValue.float(float(last["last_close"]))
    quarantined = int(written["quarantined"].sum())
    if quarantined:
        days = set(written_days)
        reasons = [r.describe() for r in rejects if r.session is None or r.session in days]
        md["quarantined_rows"] = dg.MetadataValue.int(quarantined)
        md["quarantine"] = dg.MetadataValue.md("\n".join(f"- {r}" for r in reasons[:50]))
    return md


def year_records(report, store, calendar, now) -> list[PartitionRecord]:
    """One record per (symbol, year) this run wrote, with the year's metadata and version (the
    store's ledger of those years read in one query, grouped once: linear in the sessions)."""
    import pandas as pd

    from research_lab.core.marketdata.store import ledger_range

    written = {}
    for summary in report.summaries:
        frame = summary.per_session.frame()
        if len(frame):
            years = pd.DatetimeIndex(pd.to_datetime(frame["session"])).year
            for year, part in frame.groupby(years, sort=True):
                written[summary.symbol, int(year)] = part
    if not written:
        return []
    years = sorted({y for _, y in written})
    ledger = ledger_range(store, sorted({s for s, _ in written}),
                          date(years[0], 1, 1), date(years[-1], 12, 31))
    ledger_by = ({} if not len(ledger) else
                 dict(iter(ledger.groupby([ledger["symbol"], ledger["session"].dt.year]))))
    empty = ledger.iloc[:0]
    last_closed = calendar.last_completed_session(now) or date.min
    exchange = {y: calendar.sessions(date(y, 1, 1), min(date(y, 12, 31), last_closed))
                if date(y, 1, 1) <= last_closed else [] for y in years}
    summaries = {s.symbol: s for s in report.summaries}
    records = []
    for (symbol, year), part in sorted(written.items()):
        summary = summaries[symbol]
        md = year_metadata(year, part, ledger_by.get((symbol, year), empty), list(exchange[year]),
                           summary.source, summary.rejects)
        records.append(PartitionRecord(market_key(symbol, year), md, md["data_version"].value))
    return records


@dg.asset(
    partitions_def=market_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    check_specs=market_data_check_specs,
    output_required=False,
    group_name="market_data",
    kinds={"python", "sql"},
    description="Daily OHLCV bars per symbol × year from the configured source, validated and "
    "stored (each session in the store's ledger). Config start/end restricts a run to a "
    "session range (one session of one symbol: its year partition, start = end). Invalid rows "
    "are quarantined with their reason; a symbol the source cannot serve fails alone; each "
    "year partition records its own metadata and data version.",
)
def market_data(
    context: dg.AssetExecutionContext,
    config: MarketDataConfig,
    source: SourceResource,
    store: StoreResource,
    calendar: CalendarResource,
):
    from research_lab.core.marketdata import ingest

    src, st, cal = source.get(), store.open(), calendar.get()
    now = ingest.utc_now()
    start, end = config_range(config)
    requests = requests_from_keys(context.partition_keys, start, end, calendar=cal, now=now)
    context.log.info(
        f"ingesting {sum(map(len, requests.values()))} sessions of {len(requests)} symbol(s) "
        f"({len(context.partition_keys)} year partitions) from {src.name} into {st.url}"
    )
    try:
        report = ingest.ingest_partitions(src, st, cal, requests, now=now)
    except ingest.FutureSessionError as exc:  # nothing fetched or written: one line
        raise dg.Failure(description=str(exc), allow_retries=False) from None

    records = year_records(report, st, cal, now)
    settings = load_settings()
    outcomes, quarantined = {}, {}
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
        wanted = set(days)
        exchange_days = [d for d in cal.sessions(days[0], days[-1]) if d in wanted]
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
        lines = [f"{f.symbol} ({len(f.sessions)} sessions): {f.reason}" for f in report.failures]
        raise dg.Failure(
            description=f"{len(report.failures)} symbol(s) failed, the others were stored: "
            + "; ".join(lines),
            metadata={"failed_symbols": dg.MetadataValue.text(
                ", ".join(f.symbol for f in report.failures))},
        )
