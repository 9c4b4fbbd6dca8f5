"""Everything the rl domain adds to the code location: the policy and evaluation assets and
their jobs (resources: the shared ``store`` and ``source`` of the market-data domain)."""

import dagster as dg

from research_lab.defs.rl.assets import rl_evaluation, rl_policy
from research_lab.defs.rl.jobs import rl_evaluation_job, rl_training_job

defs = dg.Definitions(
    assets=[rl_policy, rl_evaluation],
    jobs=[rl_training_job, rl_evaluation_job],
)
