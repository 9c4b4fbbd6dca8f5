"""The Dagster layer: thin assets, checks, sensors, schedules, jobs and resources over ``core``."""

import warnings

import dagster as dg

# backfill policies and partitioned checks are beta/preview in Dagster 1.13; we rely on them
# knowingly, so the warnings would only be noise on every code-server load.
warnings.filterwarnings("ignore", category=dg.BetaWarning)
warnings.filterwarnings("ignore", category=dg.PreviewWarning)
