"""Everything the tracking domain adds to the code location: the ``tracking`` resource (an
MLflow ``ExperimentTracker`` per run), the outbox replay job and its sensor."""

import dagster as dg

from research_lab.defs.tracking.jobs import replay_tracking_outbox_job
from research_lab.defs.tracking.resources import TrackingResource
from research_lab.defs.tracking.sensors import tracking_outbox_sensor

defs = dg.Definitions(
    jobs=[replay_tracking_outbox_job],
    sensors=[tracking_outbox_sensor],
    resources={"tracking": TrackingResource()},
)
