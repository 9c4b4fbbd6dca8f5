"""``optimization_job``: materialize ``optimization_study`` partitions (strategy × symbol).
The schedule, the launchpad and the HTTP API (``POST /backtests/optimize``) launch it."""

import dagster as dg

optimization_job = dg.define_asset_job(
    "optimization_job",
    selection=dg.AssetSelection.assets("optimization_study"),
    description="Run an optimization study of one strategy on one symbol (off market hours).",
)
