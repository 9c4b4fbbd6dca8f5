"""Everything the backtest domain adds to the code location.

Resources: ``store`` and ``source`` are the market-data domain's (merged in
``research_lab/definitions.py``); this domain adds no resource key.
"""

import dagster as dg

from research_lab.defs.backtest.assets import backtest_results
from research_lab.defs.backtest.jobs import backtest_job
from research_lab.defs.backtest.sensors import strategy_partitions_sensor

defs = dg.Definitions(assets=[backtest_results], jobs=[backtest_job],
                      sensors=[strategy_partitions_sensor])
