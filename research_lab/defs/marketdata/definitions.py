"""Everything the market-data domain adds to the code location."""

import dagster as dg

from research_lab.defs.marketdata.assets import market_data
from research_lab.defs.marketdata.jobs import market_data_job
from research_lab.defs.marketdata.schedules import nightly_ingest_schedule
from research_lab.defs.marketdata.sensors import market_data_sensor
from research_lab.defs.resources import default_resources

defs = dg.Definitions(
    assets=[market_data],
    jobs=[market_data_job],
    schedules=[nightly_ingest_schedule],
    sensors=[market_data_sensor],
    resources=default_resources(),
)
