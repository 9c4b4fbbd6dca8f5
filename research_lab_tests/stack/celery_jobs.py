"""A small fan-out job for the Celery executor test: 4 independent steps, then a fan-in.

It lives in its own module so that Celery workers can load it from the code pointer the run
sends them (``dg.reconstructable``), as they would load the project's jobs.
"""

import dagster as dg

from research_lab.defs.executors import lab_executor

WIDTH = 4


def _part(i: int) -> dg.OpDefinition:
    @dg.op(name=f"part_{i}")
    def part() -> int:
        # a little CPU so that both workers are busy at once
        return sum(k * k for k in range(200_000 + i))

    return part


PARTS = [_part(i) for i in range(WIDTH)]


@dg.op
def total(values: list[int]) -> int:
    return sum(values)


@dg.job(executor_def=lab_executor)
def fan_out_job():
    total([part() for part in PARTS])
