"""The quality assets: ``anomaly_scores`` (per symbol x year) and ``anomaly_report``.

Thin on purpose: parse the partition keys, call the use case
(:func:`research_lab.core.usecases.score_quality` / :func:`~research_lab.core.usecases.
quality_report`), return metadata.

- ``anomaly_scores`` has the partitions of ``market_data`` (symbol × year) and depends on it
  partition for partition; a range runs as one run (single-run backfill policy). Within its
  partitions (and the config's ``start``/``end``) it scores only the sessions whose stored bars
  changed since they were scored (the bars' ledger ``data_version`` differs from the score's
  ``bars_version``) or were never scored (``core.marketdata.store.sessions_to_score``), or every
  session with ``rescore: true``: so the run the automation condition starts after the nightly
  ingest scores one session per symbol, not the year. Its checks (``checks.py``) fail on open
  criticals (blocking) and warnings of the partitions' sessions.
- ``anomaly_report`` is unpartitioned: one cross-symbol view (counts per symbol and per day,
  open criticals, overrides, a plot, and the KPIs: anomalies per ingest batch, median time
  from detection to acknowledgement, false-positive rate), read from the scores table in one
  query. Per-symbol partitions would split exactly what the report exists to put side by
  side, and the whole table is small (one row per partition).
"""

from typing import Optional

import dagster as dg
from pydantic import Field

from research_lab.defs.marketdata.assets import config_range
from research_lab.defs.partitions import market_partitions, sessions_of_keys
from research_lab.defs.quality.checks import anomaly_scores_check_specs, check_results
from research_lab.defs.resources import CalendarResource, StoreResource

# score what market_data wrote, whenever it wrote it (also backfills of the past), once deps settle
scores_condition = (
    dg.AutomationCondition.any_deps_updated().since_last_handled()
    & ~dg.AutomationCondition.any_deps_in_progress()
    & ~dg.AutomationCondition.in_progress()
).with_label("after market_data")
report_condition = (
    dg.AutomationCondition.any_deps_updated().since_last_handled()
    & ~dg.AutomationCondition.any_deps_in_progress()
    & ~dg.AutomationCondition.in_progress()
).with_label("after anomaly_scores")


class AnomalyScoresConfig(dg.Config):
    thresholds_path: Optional[str] = Field(
        default=None,
        description="Thresholds YAML written by `research-lab quality calibrate`. Unset: "
        "RESEARCH_LAB_QUALITY_THRESHOLDS, else config/quality_thresholds.yaml, else built-in.",
    )
    use_iforest: bool = Field(default=True, description="Compute the Isolation Forest score.")
    use_prophet: bool = Field(default=True, description="Compute the Prophet residual scores.")
    start: Optional[str] = Field(default=None, description="First session to score "
                                 "(YYYY-MM-DD); unset: January 1st of each partition's year.")
    end: Optional[str] = Field(default=None, description="Last session to score (YYYY-MM-DD); "
                               "unset: December 31st of each partition's year.")
    rescore: bool = Field(default=False, description="Score every stored session of the "
                          "partitions, not only those whose bars changed since they were scored.")


def _scores_metadata(runs) -> dict:
    counts = {sev: sum(r.counts[sev] for r in runs) for sev in ("info", "warning", "critical")}
    md = {
        "sessions_scored": dg.MetadataValue.int(sum(len(r.sessions) for r in runs)),
        "symbols": dg.MetadataValue.text(", ".join(r.symbol for r in runs)),
        **{sev: dg.MetadataValue.int(n) for sev, n in counts.items()},
        "thresholds": dg.MetadataValue.text(", ".join(sorted({r.thresholds for r in runs}))),
        "bars_read": dg.MetadataValue.int(sum(r.bars_read for r in runs)),
    }
    table = ["| symbol | sessions | info | warning | critical | first critical |",
             "|---|---|---|---|---|---|"]
    for r in runs:
        first = f"{r.criticals[0][0]}: {r.criticals[0][1]}" if r.criticals else "-"
        table.append(f"| {r.symbol} | {r.sessions[0]}..{r.sessions[-1]} | {r.counts['info']} | "
                     f"{r.counts['warning']} | {r.counts['critical']} | {first[:120]} |")
    md["by_symbol"] = dg.MetadataValue.md("\n".join(table))
    return md


@dg.asset(
    partitions_def=market_partitions,
    deps=["market_data"],
    backfill_policy=dg.BackfillPolicy.single_run(),
    check_specs=anomaly_scores_check_specs,
    automation_condition=scores_condition,
    group_name="quality",
    kinds={"python", "sql"},
    description="Per symbol x year (each session scored once per version of its bars): rule "
    "findings, an Isolation Forest score and Prophet "
    "residuals from the partition plus earlier sessions only, and one severity with reasons; "
    "stored beside the bars (table anomaly_scores).",
)
def anomaly_scores(
    context: dg.AssetExecutionContext,
    config: AnomalyScoresConfig,
    store: StoreResource,
    calendar: CalendarResource,
) -> dg.MaterializeResult:
    from research_lab.core.marketdata.store import ledger_range, sessions_to_score
    from research_lab.core.quality.gate import open_criticals
    from research_lab.core.usecases import score_quality

    start, end = config_range(config)
    wanted = sessions_of_keys(context.partition_keys, start, end)
    st = store.open()
    if config.rescore:
        ledger = ledger_range(st, sorted(wanted), min(min(d) for d in wanted.values()),
                              max(max(d) for d in wanted.values())) if wanted else None
        stored = {} if ledger is None else ledger.groupby("symbol")["session"].apply(
            lambda s: set(s.dt.date)).to_dict()
        requests = {s: [d for d in days if d in stored.get(s, ())] for s, days in wanted.items()}
        requests = {s: days for s, days in requests.items() if days}
    else:
        requests = sessions_to_score(st, wanted)
    context.log.info(f"scoring {sum(map(len, requests.values()))} sessions of "
                     f"{len(requests)} symbol(s) in {st.url} "
                     f"({'all stored' if config.rescore else 'changed or new'} sessions of "
                     f"{len(context.partition_keys)} year partitions)")
    if requests:
        scored = score_quality(st, requests, calendar=calendar.get(),
                               thresholds_path=config.thresholds_path,
                               use_iforest=config.use_iforest, use_prophet=config.use_prophet)
        runs, warning_lines = scored.runs, list(scored.warnings)
    else:
        runs, warning_lines = (), []
    # the checks judge every session of the partitions, scored now or before
    # (one read of every open critical: there are few, far fewer than symbols)
    open_lines = [f"{a.symbol} {a.session}: {a.reasons[0] if a.reasons else ''}"
                  for a in open_criticals(st) if a.symbol in wanted
                  and wanted[a.symbol][0] <= a.session <= wanted[a.symbol][-1]]
    md = _scores_metadata(runs)
    md["open_criticals"] = dg.MetadataValue.int(len(open_lines))
    open_by = {s: sum(1 for line in open_lines if line.startswith(f"{s} ")) for s in wanted}
    md["per_symbol"] = dg.MetadataValue.json({  # what the CLI prints, one line per symbol
        r.symbol: {"sessions": len(r.sessions), **{k: int(r.counts[k]) for k in
                   ("info", "warning", "critical")}, "open": open_by.get(r.symbol, 0)}
        for r in runs})
    return dg.MaterializeResult(metadata=md, check_results=check_results(open_lines, warning_lines))


@dg.asset(
    deps=[anomaly_scores],
    automation_condition=report_condition,
    group_name="quality",
    kinds={"python"},
    description="Anomalies across symbols: counts by severity per symbol and per day, the open "
    "(unacknowledged) criticals, overrides, the false-positive rate, a plot over time.",
)
def anomaly_report(context: dg.AssetExecutionContext, store: StoreResource) -> dg.MaterializeResult:
    from research_lab.core.settings import load_settings
    from research_lab.core.usecases import quality_report

    st = store.open()
    out = quality_report(st, plot_path=load_settings().home / "reports" / "anomaly_report.png")
    report, kpis = out.report, out.kpis
    context.log.info(f"{report.partitions} scored partitions, {report.open_count} open critical")

    def number(name: str, unit: str = "") -> dg.MetadataValue:
        value = kpis[name]
        return (dg.MetadataValue.float(float(value)) if value is not None
                else dg.MetadataValue.text(f"n/a (nothing to measure yet{unit})"))

    return dg.MaterializeResult(metadata={
        "partitions": dg.MetadataValue.int(report.partitions),
        "open_criticals": dg.MetadataValue.int(report.open_count),
        "ingest_batches": dg.MetadataValue.int(int(kpis["ingest_batches"])),
        "anomalies_per_batch": number("anomalies_per_batch"),
        "median_hours_to_acknowledge": number("median_hours_to_acknowledge", ": no verdict"),
        "false_positive_rate": number("false_positive_rate", ": no verdict"),
        "overrides": dg.MetadataValue.int(len(report.overrides)),
        "plot": dg.MetadataValue.path(str(out.plot)),
        "report": dg.MetadataValue.md(out.markdown()),
    })
