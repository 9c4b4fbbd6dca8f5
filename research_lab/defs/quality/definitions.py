"""Everything the quality domain adds to the code location: the sentinel's assets and checks,
its jobs, the automation sensor that keeps scores in step with market_data, the alert sensor
and the alert webhook resource (key ``alert_webhook``)."""

import dagster as dg

from research_lab.defs.quality.assets import anomaly_report, anomaly_scores
from research_lab.defs.quality.jobs import (
    anomaly_report_job,
    anomaly_scores_job,
    quality_automation_sensor,
)
from research_lab.defs.quality.resources import AlertWebhookResource
from research_lab.defs.quality.sensors import anomaly_alert_sensor

defs = dg.Definitions(
    assets=[anomaly_scores, anomaly_report],
    jobs=[anomaly_scores_job, anomaly_report_job],
    sensors=[quality_automation_sensor, anomaly_alert_sensor],
    resources={"alert_webhook": AlertWebhookResource()},
)
