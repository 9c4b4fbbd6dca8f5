"""Jobs of the backtest domain: ``backtest_job`` materializes ``backtest_results`` partitions
(pick strategy × symbol in the launchpad, or backfill a rectangle of them); its partitions are
the asset's (strategy × symbol)."""

import dagster as dg

backtest_job = dg.define_asset_job(
    "backtest_job",
    selection=dg.AssetSelection.assets("backtest_results"),
    description="Backtest strategies × symbols on the stored history (one run per partition).",
)
