"""``research-lab stack SERVICE``: run one service of the team stack locally, in the foreground.

::

    research-lab stack mlflow                                  # SQLite + artifact folder
    research-lab stack mlflow --backend postgresql://postgres@127.0.0.1:5432/mlflow --port 5000
    research-lab stack up                  # Dagster (webserver, daemon, code server) + MLflow
                                           # on PostgreSQL (RESEARCH_LAB_PG_URL), Ctrl-C stops all
    research-lab stack celery-worker --name a        # a worker for the celery executor

A small dispatcher: each service is one ``_add_<service>`` (its arguments) and one
``cmd_<service>`` (start it, print its URL, wait for Ctrl-C or SIGTERM, stop it). Services bind
to 127.0.0.1 unless ``--host`` says otherwise. The full stack (PostgreSQL, MLflow, Dagster)
runs with docker compose (``docker/``).
"""

from __future__ import annotations

import os
import signal
import sys


def register(sub) -> None:
    p = sub.add_parser("stack", help="run a service of the team stack locally (foreground)")
    ss = p.add_subparsers(dest="service", required=True, metavar="SERVICE")
    for name, (add, run, help_text) in SERVICES.items():
        sp = ss.add_parser(name, help=help_text)
        add(sp)
        sp.set_defaults(func=run)


# -- mlflow ----------------------------------------------------------------------------------
def _add_mlflow(p) -> None:
    p.add_argument("--backend", help="backend store: sqlite:///path.db or "
                   "postgresql://user@host:5432/db (default: RESEARCH_LAB_MLFLOW_BACKEND_URI, "
                   "else the embedded store's SQLite file, so its runs show in the UI)")
    p.add_argument("--artifacts", help="artifact folder the server writes and serves (default: "
                   "RESEARCH_LAB_MLFLOW_ARTIFACTS, else $RESEARCH_LAB_HOME/mlflow/artifacts)")
    p.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=5000)
    p.add_argument("--workers", type=int, default=1, help="server worker processes (default 1)")
    p.add_argument("--no-indexes", action="store_true",
                   help="skip `project migrate` (the extra indexes) after start")
    p.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for /health")


def mlflow_spec(args):
    """The :class:`ServerSpec` for the parsed arguments (defaults resolved from settings)."""
    from research_lab.core.environment import read_environment
    from research_lab.core.settings import load_settings
    from research_lab.core.tracking.server import ServerSpec

    home = load_settings().home / "mlflow"
    variables = read_environment()
    backend = (args.backend or variables.mlflow_backend_uri
               or f"sqlite:///{home / 'mlflow.db'}")
    artifacts = (args.artifacts or (str(variables.mlflow_artifacts)
                                    if variables.mlflow_artifacts else None)
                 or str(home / "artifacts"))
    if not backend.startswith(("sqlite:///", "postgresql://", "postgresql+psycopg2://")):
        raise ValueError(f"--backend must be sqlite:///path or postgresql://..., got "
                         f"{backend.split('@')[-1]!r}")
    if not 0 < args.port < 65536:
        raise ValueError(f"--port must be 1-65535, got {args.port}")
    return ServerSpec(backend_uri=backend, artifacts_dir=artifacts, host=args.host,
                      port=args.port, workers=args.workers)


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt  # SIGTERM stops the server like Ctrl-C


def cmd_mlflow(args) -> int:
    from research_lab.core.settings import mask_url
    from research_lab.core.tracking import migrate
    from research_lab.core.tracking.server import MlflowServer, ServerError, is_healthy

    spec = mlflow_spec(args)
    if is_healthy(spec.url, 1.0):
        raise ValueError(f"something already answers at {spec.url}; choose another --port")
    server = MlflowServer(spec)
    print(f"starting mlflow server (backend {mask_url(spec.backend_uri)}, artifacts "
          f"{spec.artifacts_dir}, log {server.log_path})...", file=sys.stderr, flush=True)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        server.start(wait=None)
        took = server.wait_healthy(args.timeout)
        if not args.no_indexes:
            migrate.apply(spec.backend_uri)
        print(f"MLflow at {spec.url} (ready in {took:.0f} s); use it with "
              f"export MLFLOW_TRACKING_URI={spec.url} — Ctrl-C stops it", flush=True)
        code = server.proc.wait()
        print(f"mlflow server exited with code {code}:\n{server.log_tail()}", file=sys.stderr)
        return 1
    except ServerError as exc:
        print(f"research-lab stack mlflow: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("stopping mlflow server", file=sys.stderr)
        return 0
    finally:
        server.stop()


# -- up (the whole stack without Docker; see cli/stack_up.py) ---------------------------------
def _port(text: str) -> int:
    import argparse

    if not text.isdigit() or not 0 < int(text) < 65536:
        raise argparse.ArgumentTypeError(f"port {text!r} is not in 1..65535")
    return int(text)


def _add_up(p) -> None:
    p.add_argument("--pg-url", default=None,
                   help="PostgreSQL server (default: RESEARCH_LAB_PG_URL, else "
                   "postgresql://postgres@127.0.0.1:5432)")
    p.add_argument("--db-prefix", default="research_lab_",
                   help="database names <prefix>dagster, <prefix>mlflow, <prefix>market, "
                   "<prefix>optuna, created if missing (default research_lab_)")
    p.add_argument("--home", default=None,
                   help="folder for DAGSTER_HOME, artifacts and logs (default $RESEARCH_LAB_HOME/stack)")
    p.add_argument("--host", default="127.0.0.1",
                   help="address every service binds (default 127.0.0.1: this machine only)")
    p.add_argument("--dagster-port", type=_port, default=3000)
    p.add_argument("--mlflow-port", type=_port, default=5000)
    p.add_argument("--code-port", type=_port, default=4000, help="user-code gRPC server")
    p.add_argument("--no-mlflow", action="store_true", help="Dagster only")
    p.add_argument("--ready-timeout", type=float, default=180.0,
                   help="seconds to wait for every service to answer (default 180)")


def cmd_up(args) -> int:
    from pathlib import Path

    from research_lab.cli.stack_up import DEFAULT_PG_URL, PgServer, StackConfig, run_stack
    from research_lab.core.environment import read_environment
    from research_lab.core.settings import load_settings

    pg = PgServer.from_url(args.pg_url or read_environment().pg_url or DEFAULT_PG_URL)
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(f"stack: warning: binding {args.host}: the services have no authentication",
              file=sys.stderr)
    cfg = StackConfig(
        home=Path(args.home or load_settings().home / "stack").resolve(),
        pg=pg,
        db_prefix=args.db_prefix,
        host=args.host,
        dagster_port=args.dagster_port,
        code_port=args.code_port,
        mlflow_port=args.mlflow_port,
        mlflow=not args.no_mlflow,
        store_url=read_environment().store_url,
    )
    return run_stack(cfg, ready_timeout=args.ready_timeout)


# -- celery-worker (steps of runs on the celery executor; see defs/executors.py) --------------
def _add_celery_worker(p) -> None:
    p.add_argument("--name", default=None, help="worker name (default: celery's own)")
    p.add_argument("--concurrency", type=int, default=1, help="steps at once (default 1)")
    p.add_argument("--loglevel", default="INFO")


def celery_worker_argv(name: str | None, concurrency: int, loglevel: str = "INFO") -> list[str]:
    """The command line of one worker on the executor's queue."""
    if concurrency < 1:
        raise ValueError(f"--concurrency must be at least 1, got {concurrency}")
    argv = [sys.executable, "-m", "celery", "-A", "research_lab.defs.celery_app", "worker",
            "-Q", "dagster", "-c", str(concurrency), "--loglevel", loglevel]
    return argv + (["-n", f"{name}@%h"] if name else [])


def cmd_celery_worker(args) -> int:
    from research_lab.defs.executors import celery_urls

    celery_urls()  # a bad RESEARCH_LAB_CELERY_BROKER fails here, with a clear message
    argv = celery_worker_argv(args.name, args.concurrency, args.loglevel)
    os.execv(argv[0], argv)
    return 0  # pragma: no cover - execv does not return


SERVICES = {
    "mlflow": (_add_mlflow, cmd_mlflow,
               "MLflow tracking server on SQLite or PostgreSQL with an artifact folder"),
    "up": (_add_up, cmd_up,
           "the team stack without Docker: Dagster (webserver, daemon, code server) and MLflow "
           "on PostgreSQL, bound to 127.0.0.1; Ctrl-C stops all"),
    "celery-worker": (_add_celery_worker, cmd_celery_worker,
                      "a Celery worker for runs on the celery executor "
                      "(broker: RESEARCH_LAB_CELERY_BROKER)"),
}
