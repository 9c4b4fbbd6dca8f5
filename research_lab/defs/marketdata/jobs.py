"""Jobs over the market-data assets."""

import dagster as dg

from research_lab.defs.marketdata.assets import market_data

INGESTION_TAGS = {"research_lab/kind": "ingestion"}

market_data_job = dg.define_asset_job(
    "market_data_job",
    selection=dg.AssetSelection.assets(market_data),
    tags=INGESTION_TAGS,
    description="Ingest market_data partitions (a range runs as one run).",
)
