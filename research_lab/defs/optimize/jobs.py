"""``optimization_job``: materialize ``optimization_study`` partitions (strategy × symbol).
The schedule, the launchpad, backfills and the HTTP API (``POST /backtests/optimize``) launch
it.

Every run of it carries the run queue's tags, however it is launched: the job's own tag
``research_lab/kind: optimization``, and per partition (Dagster asks the job's partitioned
config for a partition's tags when the launchpad, a backfill or a schedule creates the run)
``research_lab/asset_class`` and ``dagster/priority`` from ``asset_classes`` in
``config/optimize.yaml``. The asset itself is in the ``optimization`` concurrency pool, so a
run that bypasses the job (the asset graph's Materialize button or ``dagster asset
materialize`` use Dagster's implicit asset job, whose partition tags Dagster computes without
the code) still counts against the studies' limit.
"""

import dagster as dg

from research_lab.defs.optimize.partitions import study_partitions
from research_lab.defs.run_queue import KIND_TAG


def partition_tags(partition_key: str) -> dict[str, str]:
    """The run queue's tags of one study partition (``sma_cross|ACME``)."""
    from research_lab.defs.optimize.partitions import split_study_key
    from research_lab.defs.run_queue import study_run_tags

    _, symbol = split_study_key(partition_key)
    return study_run_tags(symbol)


optimization_job = dg.define_asset_job(
    "optimization_job",
    selection=dg.AssetSelection.assets("optimization_study"),
    description="Run an optimization study of one strategy on one symbol (off market hours).",
    tags={KIND_TAG: "optimization"},
    config=dg.PartitionedConfig(
        partitions_def=study_partitions,
        run_config_for_partition_key_fn=lambda key: {},
        tags_for_partition_key_fn=partition_tags,
    ),
)
