"""Record each partition of a range run as its own materialization (own metadata, own version).

In a range run, an asset that returns one result gets one materialization per partition from
Dagster, but every one carries the *range's* data version (Dagster derives it from the run),
and per-partition metadata set with ``add_asset_metadata`` is the only difference between
them. :func:`record_partition_metadata` instead logs one ``AssetMaterialization`` per
partition with that partition's metadata and its own data version (the version the store
records for its bars), so that the UI, staleness and the sensor's "changed session" rule read
the partition's truth. The asset then returns no output (``output_required=False``), unless
the same run also materializes an asset downstream of it (:func:`downstream_in_run`: Dagster
skips a downstream step whose upstream output is missing); then the asset returns its output
and Dagster records the partitions (each with its own metadata, the run's data version).

Batched writes: Dagster writes the materializations of a range output as one batch (one
statement on PostgreSQL when ``DAGSTER_EVENT_BATCH_SIZE`` is set; SQLite has no batch path and
writes them one by one either way). ``context.log_event`` has no batch argument, so this module
logs the events the way Dagster logs an output's, through the step context (a private
attribute, ``_step_execution_context``). Where a Dagster version lacks it, the public
``context.log_event`` is used: the same events, written one by one. Hand-written because
Dagster has no public API for per-partition data versions in a range run.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Mapping

import dagster as dg

# the tags Dagster puts on a partition's materialization (it reads the version from the first;
# the UI and the per-dimension queries read the partition's dimensions from the last)
DATA_VERSION_TAG = "dagster/data_version"
CODE_VERSION_TAG = "dagster/code_version"
DIMENSION_TAG_PREFIX = "dagster/partition/"


@dataclass(frozen=True)
class PartitionRecord:
    """What one partition's materialization says: its key, metadata and data version."""

    partition_key: str  # a ``MultiPartitionKey`` gets its dimension tags
    metadata: Mapping[str, Any]
    data_version: str


def _batch_logger(context: dg.AssetExecutionContext):
    """``log(materialization, is_last)`` writing through Dagster's batch path, or ``None`` when
    this Dagster version lacks the private pieces."""
    try:
        from dagster._core.events import (
            DagsterEvent,
            DagsterEventBatchMetadata,
            generate_event_batch_id,
        )

        op_context = context.op_execution_context
        step_context = op_context._step_execution_context  # noqa: SLF001 (see module docstring)
        op_context._events  # noqa: B018, SLF001 (the events the step reports as its own)
    except (ImportError, AttributeError):
        return None
    batch_id = generate_event_batch_id()

    def log(materialization: dg.AssetMaterialization, is_last: bool) -> None:
        # re-read each time: Dagster replaces the list when it consumes the step's events
        op_context._events.append(DagsterEvent.asset_materialization(  # noqa: SLF001
            step_context, materialization, DagsterEventBatchMetadata(batch_id, is_last)))

    return log


def downstream_in_run(context: dg.AssetExecutionContext) -> bool:
    """Whether this run also materializes an asset that depends on this one (read from the
    job's asset layer; when a Dagster version lacks it, ``True``: the output is then returned,
    which never skips a downstream step)."""
    try:
        layer = context.job_def.asset_layer
        children = layer.asset_graph.get(context.asset_key).child_keys
        return bool(set(children) & set(layer.selected_asset_keys))
    except AttributeError:
        return True


def record_partition_metadata(context: dg.AssetExecutionContext,
                              records: Iterable[PartitionRecord]) -> int:
    """Log one materialization per record (its metadata, its data version as the event's);
    returns how many were logged."""
    records = list(records)
    batch = _batch_logger(context)
    # as Dagster tags an output's materialization: the asset's code version, else the run's id
    code_version = (context.assets_def.code_versions_by_key.get(context.asset_key)
                    or context.run.run_id)
    for i, record in enumerate(records):
        tags = {DATA_VERSION_TAG: record.data_version, CODE_VERSION_TAG: code_version}
        if isinstance(record.partition_key, dg.MultiPartitionKey):
            tags.update({DIMENSION_TAG_PREFIX + dim: key
                         for dim, key in record.partition_key.keys_by_dimension.items()})
        materialization = dg.AssetMaterialization(
            asset_key=context.asset_key, partition=str(record.partition_key),
            metadata=dict(record.metadata), tags=tags,
        )
        if batch is None:
            context.log_event(materialization)
        else:
            batch(materialization, i == len(records) - 1)
    return len(records)
