"""Everything the quality domain adds to the code location (filled in by its issue)."""

import dagster as dg

defs = dg.Definitions()
