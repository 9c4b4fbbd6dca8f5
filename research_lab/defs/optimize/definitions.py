"""Everything the optimize domain adds to the code location: the ``optimization_study`` asset
(strategy × symbol), ``optimization_job`` and ``optimization_schedule``.

Resources: ``store`` (market-data domain) and ``tracking`` (tracking domain), merged in
``research_lab/definitions.py``; this domain adds no resource key.
"""

import dagster as dg

from research_lab.defs.optimize.assets import optimization_study
from research_lab.defs.optimize.jobs import optimization_job
from research_lab.defs.optimize.schedules import optimization_schedule

defs = dg.Definitions(
    assets=[optimization_study], jobs=[optimization_job], schedules=[optimization_schedule]
)
