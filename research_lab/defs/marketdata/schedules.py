"""``nightly_ingest_schedule``: after the close, ingest the day for every symbol and fill gaps.

Runs at 18:30 New York on weekdays. The day's partition for all symbols is one run (a holiday
gives empty partitions that say so); each symbol's missing partitions among the last
``ingest.gap_lookback_sessions`` weekdays are requested too, one run per gap.
"""


from zoneinfo import ZoneInfo

import dagster as dg

from research_lab.core.marketdata.planning import plan_nightly
from research_lab.core.settings import load_settings
from research_lab.defs.marketdata.jobs import market_data_job
from research_lab.defs.marketdata.requests import to_run_request
from research_lab.defs.partitions import NEW_YORK, symbol_partitions
from research_lab.defs.resources import StoreResource


@dg.schedule(
    job=market_data_job,
    cron_schedule="30 18 * * 1-5",
    execution_timezone=NEW_YORK,
    description="Nightly: today's session for every symbol, plus a backfill of missing partitions.",
)
def nightly_ingest_schedule(context: dg.ScheduleEvaluationContext, store: StoreResource):
    symbols = context.instance.get_dynamic_partitions(symbol_partitions.name)
    if not symbols:
        return dg.SkipReason("no symbols yet: the market_data_sensor or the CLI adds them")
    day = context.scheduled_execution_time.astimezone(ZoneInfo(NEW_YORK)).date()
    st = store.open()
    sessions = {s: st.sessions(s) for s in symbols}
    plan = plan_nightly(day, symbols, sessions, load_settings().gap_lookback_sessions)
    return [to_run_request(r, run_key_prefix=f"nightly-{day.isoformat()}") for r in plan]
