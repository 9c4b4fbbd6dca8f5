"""The one Dagster entry point: every domain's assets, checks, jobs, schedules, sensors, resources.

Each domain folder under ``defs/`` owns a ``definitions.py`` with its own ``defs``; this module
only merges them. Loading it must stay fast (goal < 2 s, see benchmarks/definitions_import.py):
nothing here computes, reads the environment or imports a heavy library; those happen when a run,
a sensor tick or a schedule tick needs them.
"""

import dagster as dg

from research_lab.defs.backtest.definitions import defs as backtest_defs
from research_lab.defs.marketdata.definitions import defs as marketdata_defs
from research_lab.defs.optimize.definitions import defs as optimize_defs
from research_lab.defs.quality.definitions import defs as quality_defs
from research_lab.defs.rl.definitions import defs as rl_defs
from research_lab.defs.tracking.definitions import defs as tracking_defs

defs = dg.Definitions.merge(
    marketdata_defs, quality_defs, backtest_defs, tracking_defs, optimize_defs, rl_defs
)
