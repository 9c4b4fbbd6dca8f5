"""``tracking_outbox_sensor``: replays the tracking outbox once the server answers again.

Each tick (every 5 minutes) counts the outbox's pending files — no mlflow import, no server
call when it is empty. If runs wait and the server answers ``/health``, it requests
``replay_tracking_outbox_job``. The run key is a digest of the pending entries' names and
modification times: the same outbox is requested once, and a replay that failed (it rewrites
the entries' attempt counts) makes the next tick request a new one. On by default: a team
that runs the daemon gets its lost runs back without anybody remembering to.
"""

from __future__ import annotations

import hashlib

import dagster as dg

from research_lab.defs.tracking.jobs import replay_tracking_outbox_job
from research_lab.defs.tracking.resources import TrackingResource


@dg.sensor(
    job=replay_tracking_outbox_job,
    minimum_interval_seconds=300,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Requests a replay of the MLflow outbox when it holds runs and the server "
    "answers.",
)
def tracking_outbox_sensor(context: dg.SensorEvaluationContext, tracking: TrackingResource):
    from research_lab.core.tracking.outbox import Outbox

    entries = Outbox(tracking.target().outbox_dir).entries()
    if not entries:
        return dg.SkipReason("the tracking outbox is empty")
    if not tracking.reachable():
        return dg.SkipReason(f"{len(entries)} run(s) wait in the outbox; the tracking server "
                             "does not answer yet")
    digest = hashlib.sha256()
    for entry in entries:
        stat = entry.path.stat()
        digest.update(f"{entry.path.name}:{stat.st_mtime_ns}".encode())
    context.log.info(f"{len(entries)} run(s) wait in the tracking outbox; requesting a replay")
    return dg.RunRequest(run_key=f"outbox-{digest.hexdigest()[:16]}",
                         tags={"research_lab/outbox_runs": str(len(entries))})
