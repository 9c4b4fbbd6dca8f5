"""``replay_tracking_outbox_job``: write the runs that wait in the tracking outbox.

Requested by ``tracking_outbox_sensor`` when the outbox holds runs and the server answers; can
also be launched by hand from the UI (the same as ``research-lab project replay-outbox``).
Replay is idempotent (runs are looked up by their run key first), so running it twice, or
while a tracker is still logging, never duplicates a run. A run MLflow keeps refusing fails
the job, listed in its metadata, and stays in the outbox.
"""


from typing import Optional

import dagster as dg
from pydantic import Field

from research_lab.defs.tracking.resources import TrackingResource


class ReplayConfig(dg.Config):
    limit: Optional[int] = Field(default=None, description="Write at most this many runs "
                                 "(oldest first); unset: all of them.")


@dg.op(description="Write the tracking outbox's pending runs to MLflow (idempotent).")
def replay_tracking_outbox(context: dg.OpExecutionContext, config: ReplayConfig,
                           tracking: TrackingResource) -> dg.Output:
    report = tracking.replay(limit=config.limit)
    metadata = {
        "written": len(report.written),
        "failed": len(report.failed),
        "left": report.left,
        "summary": report.summary(),
    }
    context.log.info(f"tracking outbox: {report.summary()}")
    if report.failed:
        errors = "\n".join(f"- `{key}`: {err}" for key, err in report.failed[:20])
        raise dg.Failure(
            description=f"{len(report.failed)} run(s) could not be written; they stay in the "
            "outbox",
            metadata={**metadata, "errors": dg.MetadataValue.md(errors)},
        )
    return dg.Output(len(report.written), metadata=metadata)


@dg.job(tags={"research_lab/kind": "tracking"},
        description="Replay the MLflow tracking outbox (runs logged while the server was "
        "unreachable).")
def replay_tracking_outbox_job():
    replay_tracking_outbox()
