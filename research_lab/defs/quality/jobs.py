"""Jobs and the automation sensor of the quality assets."""

import dagster as dg

from research_lab.defs.quality.assets import anomaly_report, anomaly_scores

QUALITY_TAGS = {"research_lab/kind": "quality"}

anomaly_scores_job = dg.define_asset_job(
    "anomaly_scores_job",
    selection=dg.AssetSelection.assets(anomaly_scores),
    tags=QUALITY_TAGS,
    description="Score anomaly_scores partitions (a range runs as one run).",
)

anomaly_report_job = dg.define_asset_job(
    "anomaly_report_job",
    selection=dg.AssetSelection.assets(anomaly_report),
    tags=QUALITY_TAGS,
    description="Rebuild the anomaly report.",
)

# evaluates the automation conditions of the two assets: scores follow market_data, the report
# follows the scores (runs on by default; the UI can stop it)
quality_automation_sensor = dg.AutomationConditionSensorDefinition(
    "quality_automation_sensor",
    target=dg.AssetSelection.assets(anomaly_scores, anomaly_report),
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=60,
    description="Scores new market_data partitions and refreshes the anomaly report.",
)
