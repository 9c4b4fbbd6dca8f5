"""``lab_executor``: one executor for every job, multiprocess on a laptop, Celery on a cluster.

Which one a run uses is decided when the run starts (never at import time), in this order:

1. the run config: ``execution: {config: {kind: celery}}`` (a launchpad preset, or a job's
   ``config=``), else
2. the environment of the process that runs the job: ``RESEARCH_LAB_EXECUTOR`` =
   ``multiprocess`` | ``celery`` | ``k8s``, else
3. ``multiprocess`` (each step in its own process on this machine; ``max_concurrent`` defaults
   to the number of cores).

With ``k8s`` (Kubernetes, deploy/k8s/) each step runs in its own Kubernetes Job
(dagster-k8s's ``k8s_job_executor``, configured by the instance's ``K8sRunLauncher``).

With ``celery`` each step is a Celery task on a broker; any number of workers on any machine
run them (``research-lab stack celery-worker``, or ``celery -A research_lab.defs.celery_app
worker -Q dagster``). Broker and result backend come from the run config, else from
``RESEARCH_LAB_CELERY_BROKER`` (default ``pyamqp://guest@127.0.0.1:5672//``, a local RabbitMQ;
``redis://127.0.0.1:6379/0`` for Redis) and ``RESEARCH_LAB_CELERY_BACKEND`` (default
``rpc://`` with RabbitMQ, the broker URL itself with Redis). The run process and every worker
must agree on both, and must reach the same Dagster instance (PostgreSQL) and the same
artifact storage (``DAGSTER_STORAGE_DIR``, a shared folder on N machines).

``dagster_celery`` (and so celery/kombu) is imported only when a run picks ``celery``, so
loading the definitions stays light.

Wiring: ``dg.Definitions(executor=lab_executor)`` sets it for every job of the code location
(one domain's ``Definitions`` may carry it; ``Definitions.merge`` refuses two executors), or
``dg.define_asset_job(..., executor_def=lab_executor)`` for one job.
"""

from __future__ import annotations

from collections.abc import Mapping

import dagster as dg
from dagster._core.execution.retries import RetryMode, get_retries_config

EXECUTOR_ENV = "RESEARCH_LAB_EXECUTOR"
BROKER_ENV = "RESEARCH_LAB_CELERY_BROKER"
BACKEND_ENV = "RESEARCH_LAB_CELERY_BACKEND"
KINDS = ("multiprocess", "celery", "k8s")
DEFAULT_BROKER = "pyamqp://guest@127.0.0.1:5672//"

_CONFIG = {
    "kind": dg.Field(
        dg.Enum("LabExecutorKind", [dg.EnumValue(k) for k in KINDS]),
        is_required=False,
        description="multiprocess | celery | k8s. Unset: RESEARCH_LAB_EXECUTOR, else multiprocess.",
    ),
    "max_concurrent": dg.Field(
        dg.Noneable(int),
        is_required=False,
        default_value=None,
        description="multiprocess: steps at once (unset or 0: the number of cores); k8s: step "
        "pods at once (unset: no limit).",
    ),
    "broker": dg.Field(
        dg.Noneable(dg.StringSource),
        is_required=False,
        default_value=None,
        description="celery: broker URL. Unset: RESEARCH_LAB_CELERY_BROKER, else a local RabbitMQ.",
    ),
    "backend": dg.Field(
        dg.Noneable(dg.StringSource),
        is_required=False,
        default_value=None,
        description="celery: result backend URL. Unset: RESEARCH_LAB_CELERY_BACKEND, else rpc:// "
        "(RabbitMQ) or the broker URL (Redis).",
    ),
    "retries": get_retries_config(),
}


def resolve_kind(configured: str | None, env: Mapping[str, str] | None = None) -> str:
    """The executor a run uses: run config, else ``RESEARCH_LAB_EXECUTOR``, else multiprocess."""
    from research_lab.core.environment import read_environment

    kind = configured or read_environment(env).executor or "multiprocess"
    if kind not in KINDS:
        raise ValueError(f"{EXECUTOR_ENV}={kind!r} is not one of {', '.join(KINDS)}")
    return kind


def celery_urls(
    broker: str | None = None, backend: str | None = None, env: Mapping[str, str] | None = None
) -> tuple[str, str]:
    """(broker, backend) from the arguments, else the environment, else local RabbitMQ + rpc://."""
    from research_lab.core.environment import read_environment

    environment = read_environment(env)  # a bad RESEARCH_LAB_CELERY_* value fails here
    broker = broker or environment.celery_broker or DEFAULT_BROKER
    if not broker.startswith(("amqp://", "pyamqp://", "amqps://", "redis://", "rediss://")):
        raise ValueError(
            f"celery broker {broker!r} is neither an AMQP (RabbitMQ) nor a Redis URL "
            f"(set {BROKER_ENV})"
        )
    default_backend = broker if broker.startswith(("redis://", "rediss://")) else "rpc://"
    return broker, backend or environment.celery_backend or default_backend


def celery_app_args(broker: str | None = None, backend: str | None = None) -> dict:
    """Arguments of the Celery app, the same for the run process and the workers."""
    from dagster_celery.executor import CeleryExecutor

    b, bk = celery_urls(broker, backend)
    return CeleryExecutor.for_cli(broker=b, backend=bk).app_args()


@dg.executor(
    name="lab_executor",
    config_schema=_CONFIG,
    requirements=dg.multiple_process_executor_requirements(),
)
def lab_executor(init_context: dg.InitExecutorContext) -> dg.Executor:
    """Multiprocess (default) or Celery, chosen per run; see the module docstring."""
    cfg = init_context.executor_config
    kind = resolve_kind(cfg.get("kind"))
    if kind == "celery":
        import warnings

        from celery.exceptions import DuplicateTaskNameWarning
        from dagster_celery.executor import CeleryExecutor

        # dagster-celery registers its one task again for every step it submits (harmless)
        warnings.filterwarnings("ignore", category=DuplicateTaskNameWarning)

        broker, backend = celery_urls(cfg.get("broker"), cfg.get("backend"))
        return CeleryExecutor(
            retries=RetryMode.from_config(cfg["retries"]), broker=broker, backend=backend
        )
    if kind == "k8s":
        # dagster-k8s's k8s_job_executor: each step in its own Kubernetes Job, with the image,
        # namespace and variables of the instance's K8sRunLauncher (deploy/k8s/)
        from dagster_k8s import k8s_job_executor

        return k8s_job_executor.executor_creation_fn(  # type: ignore[misc]
            init_context._replace(
                executor_config={"max_concurrent": cfg.get("max_concurrent") or None,
                                 "retries": cfg["retries"]}
            )
        )
    return dg.multiprocess_executor.executor_creation_fn(  # type: ignore[misc]
        init_context._replace(
            executor_config={"max_concurrent": cfg.get("max_concurrent"), "retries": cfg["retries"]}
        )
    )


CELERY_RUN_CONFIG = {"execution": {"config": {"kind": "celery"}}}
"""Run config that sends a run's steps to the Celery workers (a launchpad preset)."""
