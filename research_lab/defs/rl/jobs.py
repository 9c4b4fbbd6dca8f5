"""Jobs over the RL assets, tagged for the run queue.

``rl_training_job`` runs carry ``research_lab/kind: rl_training``: the instance's run queue
limits how many run at once (``research_lab.defs.run_queue``). The ``rl_policy`` op also sits
in the ``rl_training`` concurrency pool, which limits it however the run was launched.
"""

import dagster as dg

from research_lab.defs.rl.assets import rl_evaluation, rl_policy
from research_lab.defs.run_queue import kind_tags

rl_training_job = dg.define_asset_job(
    "rl_training_job",
    selection=dg.AssetSelection.assets(rl_policy),
    tags=kind_tags("rl_training"),
    description="Train the policy of one symbol (rl_policy); runs are tagged "
    "research_lab/kind: rl_training.",
)

rl_evaluation_job = dg.define_asset_job(
    "rl_evaluation_job",
    selection=dg.AssetSelection.assets(rl_evaluation),
    description="Play back and evaluate the policy of one symbol (rl_evaluation).",
)
