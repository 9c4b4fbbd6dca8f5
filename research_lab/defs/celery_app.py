"""The Celery app that ``lab_executor``'s workers run: ``celery -A research_lab.defs.celery_app``.

A worker process imports this module (never the definitions), so reading the broker URL from
the environment here happens once, when the worker starts: ``RESEARCH_LAB_CELERY_BROKER`` and
``RESEARCH_LAB_CELERY_BACKEND`` must match those of the runs that submit steps (see
``research_lab.defs.executors``). Each task executes one step: it loads the job from the code
pointer the run sent (so the project must be installed on the worker), opens the run's Dagster
instance from the instance reference (PostgreSQL for a cluster) and reports the step's events.

    research-lab stack celery-worker --name a          # or, equivalently:
    celery -A research_lab.defs.celery_app worker -Q dagster -c 1 -n a@%h
"""

from dagster_celery.make_app import make_app
from dagster_celery.tasks import create_task

from research_lab.defs.executors import celery_app_args

app = make_app(celery_app_args())
execute_plan = create_task(app)
