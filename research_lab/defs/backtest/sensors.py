"""``strategy_partitions_sensor``: strategies found by discovery become partitions.

Each tick imports the configured strategy sources (``config/strategies.yaml``,
``RESEARCH_LAB_STRATEGIES``): at tick time, never when the definitions load, and adds every
strategy the ``strategy`` partitions lack. A source that fails to import is logged, and the
others still register. ``research-lab strategy register`` does the same on demand.
"""

import dagster as dg

from research_lab.defs.backtest.partitions import strategy_partitions


@dg.sensor(
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Adds every strategy found by discovery (built-ins and user strategies) as a "
    "partition of backtest_results and optimization_study.",
)
def strategy_partitions_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
    from research_lab.core.strategies import clear_cache, discover

    clear_cache()  # a strategy file added since the last tick is found
    found = discover()
    for problem in found.problems:
        context.log.warning(f"strategy source not loaded: {problem}")
    known = set(context.instance.get_dynamic_partitions(strategy_partitions.name))
    new = [name for name in found.strategies if name not in known]
    if not new:
        return dg.SensorResult(skip_reason=f"{len(known)} strategies, none new")
    context.log.info(f"new strategies: {', '.join(new)}")
    return dg.SensorResult(dynamic_partitions_requests=[strategy_partitions.build_add_request(new)])
