"""The quality assets: ``anomaly_scores`` (per symbol x session) and ``anomaly_report``.

Thin on purpose: parse the partition keys, call the use case
(:func:`research_lab.core.usecases.score_quality` / :func:`~research_lab.core.usecases.
quality_report`), return metadata.

- ``anomaly_scores`` has the partitions of ``market_data`` and depends on it partition for
  partition; a range runs as one run (single-run backfill policy), each symbol's sessions read
  in one query with their trailing context and written in one transaction. Its checks
  (``checks.py``) fail on open criticals (blocking) and warnings.
- ``anomaly_report`` is unpartitioned: one cross-symbol view (counts per symbol and per day,
  open criticals, overrides, a plot, and the KPIs: anomalies per ingest batch, median time
  from detection to acknowledgement, false-positive rate), read from the scores table in one
  query. Per-symbol partitions would split exactly what the report exists to put side by
  side, and the whole table is small (one row per partition).
"""

from typing import Optional

import dagster as dg
from pydantic import Field

from research_lab.defs.marketdata.assets import requests_from_keys
from research_lab.defs.partitions import market_partitions
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


def _scores_metadata(runs) -> dict:
    counts = {sev: sum(r.counts[sev] for r in runs) for sev in ("info", "warning", "critical")}
    md = {
        "partitions": dg.MetadataValue.int(sum(len(r.sessions) for r in runs)),
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
    description="Per symbol x session: rule findings, an Isolation Forest score and Prophet "
    "residuals from the partition plus earlier sessions only, and one severity with reasons; "
    "stored beside the bars (table anomaly_scores).",
)
def anomaly_scores(
    context: dg.AssetExecutionContext,
    config: AnomalyScoresConfig,
    store: StoreResource,
    calendar: CalendarResource,
) -> dg.MaterializeResult:
    from research_lab.core.usecases import score_quality

    requests = requests_from_keys(context.partition_keys)
    st = store.open()
    context.log.info(f"scoring {sum(map(len, requests.values()))} partitions of "
                     f"{len(requests)} symbol(s) in {st.url}")
    scored = score_quality(st, requests, calendar=calendar.get(),
                           thresholds_path=config.thresholds_path,
                           use_iforest=config.use_iforest, use_prophet=config.use_prophet)
    runs, open_lines = scored.runs, list(scored.open_criticals)
    warning_lines = list(scored.warnings)
    md = _scores_metadata(runs)
    md["open_criticals"] = dg.MetadataValue.int(len(open_lines))
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
