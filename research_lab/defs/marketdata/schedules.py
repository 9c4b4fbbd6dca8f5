"""``nightly_ingest_schedule``: after the close, ingest the day for every symbol and fill gaps.

Runs at 18:30 New York on weekdays. The day for all symbols is ONE run: the current-year
partitions of every symbol with run config ``start = end = day`` (500 symbols × 1 session is one
run of 500 partitions). The sessions missing from the store's ledger among the last
``ingest.gap_lookback_sessions`` weekdays are requested too: a gap every symbol shares is one run
of all symbols, a symbol's own gap one run of that symbol's year partition(s) restricted to the
gap (so a new or failed symbol never makes every symbol re-ingest its window). Only days that
have happened at the tick are requested (``core.marketdata.ingest.not_yet_happened``): on an
exchange holiday the day is not over at 18:30, so that (empty) session comes the next evening
as a gap instead of a run that the asset would refuse.
"""


from datetime import timedelta
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
    description="Nightly: today's session for every symbol (one run), plus a backfill of missing "
    "sessions.",
)
def nightly_ingest_schedule(
    context: dg.ScheduleEvaluationContext, store: StoreResource, calendar: CalendarResource
):
    import pandas as pd

    from research_lab.core.marketdata.ingest import not_yet_happened
    from research_lab.core.marketdata.planning import weekdays
    from research_lab.core.marketdata.store import ledger_range

    symbols = context.instance.get_dynamic_partitions(symbol_partitions.name)
    if not symbols:
        return dg.SkipReason("no symbols yet: the market_data_sensor or the CLI adds them")
    at = pd.Timestamp(context.scheduled_execution_time)
    day = at.tz_convert(ZoneInfo(NEW_YORK)).date()
    st, cal = store.open(), calendar.get()
    lookback = load_settings().gap_lookback_sessions
    window = day - timedelta(days=lookback * 7 // 5 + 14)
    ledger = ledger_range(st, symbols, window, day)  # every symbol's window in one query
    sessions = {s: [] for s in symbols}
    for symbol, session in zip(ledger["symbol"], ledger["session"].dt.date):
        sessions[symbol].append(session)
    plan = plan_nightly(day, symbols, sessions, lookback)
    plan = [r for r in plan if not not_yet_happened(cal, weekdays(r.start, r.end), at)]
    if not plan:
        return dg.SkipReason(f"{day} has not ended at the exchange yet and there are no gaps")
    return [to_run_request(r, run_key_prefix=f"nightly-{day.isoformat()}") for r in plan]
