"""``nightly_ingest_schedule``: after the close, ingest the day for every symbol and fill gaps.

Runs at 18:30 New York on weekdays. The day's partition for all symbols is one run; each
symbol's missing partitions among the last ``ingest.gap_lookback_sessions`` weekdays are
requested too, one run per gap. Only days that have happened at the tick are requested
(``core.marketdata.ingest.not_yet_happened``): on an exchange holiday the day is not over at
18:30, so its (empty) partitions come the next evening as a gap instead of a run that the
asset would refuse.
"""


from zoneinfo import ZoneInfo

import dagster as dg

from research_lab.core.marketdata.planning import plan_nightly
from research_lab.core.settings import load_settings
from research_lab.defs.marketdata.jobs import market_data_job
from research_lab.defs.marketdata.requests import to_run_request
from research_lab.defs.partitions import NEW_YORK, symbol_partitions
from research_lab.defs.resources import CalendarResource, StoreResource


@dg.schedule(
    job=market_data_job,
    cron_schedule="30 18 * * 1-5",
    execution_timezone=NEW_YORK,
    description="Nightly: today's session for every symbol, plus a backfill of missing partitions.",
)
def nightly_ingest_schedule(
    context: dg.ScheduleEvaluationContext, store: StoreResource, calendar: CalendarResource
):
    import pandas as pd

    from research_lab.core.marketdata.ingest import not_yet_happened
    from research_lab.core.marketdata.planning import weekdays

    symbols = context.instance.get_dynamic_partitions(symbol_partitions.name)
    if not symbols:
        return dg.SkipReason("no symbols yet: the market_data_sensor or the CLI adds them")
    at = pd.Timestamp(context.scheduled_execution_time)
    day = at.tz_convert(ZoneInfo(NEW_YORK)).date()
    st, cal = store.open(), calendar.get()
    sessions = {s: st.sessions(s) for s in symbols}
    plan = plan_nightly(day, symbols, sessions, load_settings().gap_lookback_sessions)
    plan = [r for r in plan if not not_yet_happened(cal, weekdays(r.start, r.end), at)]
    if not plan:
        return dg.SkipReason(f"{day} has not ended at the exchange yet and there are no gaps")
    return [to_run_request(r, run_key_prefix=f"nightly-{day.isoformat()}") for r in plan]
