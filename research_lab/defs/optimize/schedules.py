"""``optimization_schedule``: studies on weekday evenings and weekend mornings (New York),
holiday-aware through the exchange calendar.

Ticks at 18:30 Monday-Friday and 08:00 Saturday-Sunday, America/New_York. At each tick
(:func:`research_lab.core.optimize.budget.plan_tick`, the market-hours rule every study
obeys, pure and tested with an injected instant):

* the market must be closed (a tick inside a session, e.g. a calendar surprise, is skipped
  with the reason);
* the time left before the next open minus ``market_hours.margin_minutes`` is the budget: an
  evening before an exchange holiday gets the long weekend (the reason says until when); a
  budget below ``market_hours.min_budget_minutes`` skips the tick with the reason;
* one run per ``schedule.strategies`` × symbol partition, each tagged
  ``research_lab/kind: optimization``, ``research_lab/asset_class: <class>`` and
  ``dagster/priority`` by asset class (the run queue in ``dagster.yaml`` limits how many run at
  once and starts the higher priority first), plus ``research_lab/budget_until``.

The run itself re-checks the market hours when it starts (it may wait in the queue), and its
study stops before the next open wherever it was launched from.
"""

from __future__ import annotations

import dagster as dg

from research_lab.defs.optimize.jobs import optimization_job
from research_lab.defs.optimize.partitions import study_key
from research_lab.defs.partitions import NEW_YORK, symbol_partitions
from research_lab.defs.run_queue import study_run_tags

CRONS = ["30 18 * * 1-5", "0 8 * * 0,6"]
BUDGET_TAG = "research_lab/budget_until"


@dg.schedule(
    job=optimization_job,
    cron_schedule=CRONS,
    execution_timezone=NEW_YORK,
    description="Optimization studies on weekday evenings (18:30) and weekend mornings (08:00) "
    "New York, off market hours, holiday-aware; tagged for the run queue by asset class.",
)
def optimization_schedule(context: dg.ScheduleEvaluationContext):
    from research_lab.core.marketdata.calendar import TradingCalendar
    from research_lab.core.optimize.budget import plan_tick
    from research_lab.core.optimize.config import load_optimize_config

    cfg = load_optimize_config()
    mh = cfg.market_hours
    tick = plan_tick(context.scheduled_execution_time, TradingCalendar(mh.calendar),
                     mh.margin_minutes, mh.min_budget_minutes)
    if not tick.run:
        return dg.SkipReason(tick.reason)
    symbols = context.instance.get_dynamic_partitions(symbol_partitions.name)
    if not symbols:
        return dg.SkipReason("no symbols yet: ingest market data first")
    stamp = tick.deadline.strftime("%Y-%m-%dT%H:%M")
    requests = []
    registered = set(context.instance.get_dynamic_partitions("strategy"))
    for strategy in [s for s in cfg.schedule.strategies if s in registered]:  # partitions
        for symbol in symbols:
            requests.append(dg.RunRequest(
                run_key=f"study-{strategy}-{symbol}-{stamp}",
                partition_key=study_key(strategy, symbol),
                tags={**study_run_tags(symbol), BUDGET_TAG: tick.deadline.isoformat()},
                run_config={"ops": {"optimization_study": {"config": {
                    "n_trials": cfg.schedule.n_trials}}}},
            ))
    context.log.info(f"{len(requests)} studies {tick.reason}")
    return requests
