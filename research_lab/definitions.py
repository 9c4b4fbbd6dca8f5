"""The one Dagster entry point: every domain's assets, checks, jobs, schedules, sensors, resources.

Each domain folder under ``defs/`` owns a ``definitions.py`` with its own ``defs``; this module
only merges them (the domain modules are imported as modules, so that ``defs`` below is the only
``Definitions`` object at module scope, as Dagster's loader requires). Loading it must stay fast
(goal < 2 s, see benchmarks/definitions_import.py): nothing here computes, reads the environment
or imports a heavy library; those happen when a run, a sensor tick or a schedule tick needs them.
"""

import dagster as dg

from research_lab.defs.backtest import definitions as _backtest
from research_lab.defs.executors import lab_executor
from research_lab.defs.marketdata import definitions as _marketdata
from research_lab.defs.optimize import definitions as _optimize
from research_lab.defs.quality import definitions as _quality
from research_lab.defs.rl import definitions as _rl
from research_lab.defs.tracking import definitions as _tracking

defs = dg.Definitions.merge(
    _marketdata.defs,
    _quality.defs,
    _backtest.defs,
    _tracking.defs,
    _optimize.defs,
    _rl.defs,
    # multiprocess on a laptop, Celery on a cluster (chosen per run; see defs/executors.py)
    dg.Definitions(executor=lab_executor),
)
