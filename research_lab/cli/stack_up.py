"""``research-lab stack up``: the team stack without Docker, on a machine that has PostgreSQL.

What it does, in order:

1. creates the databases it needs on the server at ``RESEARCH_LAB_PG_URL`` (default
   ``postgresql://postgres@127.0.0.1:5432``) if they are missing: ``<prefix>dagster`` (runs,
   events, schedules), ``<prefix>mlflow`` (tracking), ``<prefix>market`` (the bar store, unless
   ``RESEARCH_LAB_STORE_URL`` is set) and ``<prefix>optuna`` (studies: the children get it as
   ``RESEARCH_LAB_OPTUNA_STORAGE``); prefix ``research_lab_``;
2. writes a ``DAGSTER_HOME`` (``docker/dagster.yaml``, the same file the compose stack mounts,
   plus a ``workspace.yaml`` pointing at the code server) and the artifact/log folders;
3. starts, each in its own process group and bound to 127.0.0.1: the user-code gRPC server,
   the Dagster webserver, the Dagster daemon and the MLflow server (PostgreSQL backend,
   artifacts under the stack folder); waits until each answers, prints the URLs;
4. on Ctrl-C or SIGTERM (or when one service dies) stops every group: SIGTERM, then SIGKILL
   after a grace period (``cli/stack_supervisor.py``). Logs: ``<home>/logs/<service>.log``.

Connection secrets travel in environment variables of the child processes (``DAGSTER_PG_*``,
``PGPASSWORD``), never on a command line or in a written file. The MLflow command line is the
tracking domain's (``research_lab.core.tracking.server.ServerSpec``).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[2]
DAGSTER_YAML = ROOT / "docker" / "dagster.yaml"
DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432"
# database names also go into URLs: no quoting can make '/', '?' or '@' safe there
DB_PREFIX = re.compile(r"^[a-z_][a-z0-9_]{0,39}$")
DATABASES = ("dagster", "mlflow", "market", "optuna")
BIN = Path(sys.executable).parent


@dataclass(frozen=True)
class PgServer:
    """A PostgreSQL server parsed from a URL (any database part is ignored)."""

    host: str
    port: int
    user: str
    password: str

    @classmethod
    def from_url(cls, url: str) -> PgServer:
        parts = urlsplit(url)
        if parts.scheme.split("+")[0] not in ("postgresql", "postgres"):
            raise ValueError(f"RESEARCH_LAB_PG_URL {url!r} is not a postgresql:// URL")
        if not parts.hostname:
            raise ValueError(f"RESEARCH_LAB_PG_URL {url!r} has no host")
        return cls(parts.hostname, parts.port or 5432, parts.username or "postgres",
                   parts.password or "")

    def url(self, database: str, scheme: str = "postgresql") -> str:
        auth = self.user + (f":{self.password}" if self.password else "")
        return urlunsplit((scheme, f"{auth}@{self.host}:{self.port}", f"/{database}", "", ""))


def ensure_databases(server: PgServer, names: list[str]) -> list[str]:
    """Create the databases in ``names`` that do not exist; returns the ones created."""
    import psycopg2
    from psycopg2 import sql

    try:
        conn = psycopg2.connect(server.url("postgres"), connect_timeout=5)
    except psycopg2.OperationalError as exc:
        raise ValueError(
            f"cannot connect to PostgreSQL at {server.host}:{server.port} as {server.user}: "
            f"{str(exc).strip().splitlines()[0]}"
        ) from None
    conn.autocommit = True
    created = []
    try:
        with conn.cursor() as cur:
            for name in names:
                cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
                if cur.fetchone() is None:
                    cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
                    created.append(name)
    finally:
        conn.close()
    return created


@dataclass(frozen=True)
class StackConfig:
    """Where and how the stack runs; ports are on ``host`` (127.0.0.1 unless told otherwise)."""

    home: Path
    pg: PgServer
    db_prefix: str = "research_lab_"
    host: str = "127.0.0.1"
    dagster_port: int = 3000
    code_port: int = 4000
    mlflow_port: int = 5000
    mlflow: bool = True
    store_url: str | None = None  # None: the <prefix>market database

    def __post_init__(self) -> None:
        if not DB_PREFIX.match(self.db_prefix):
            raise ValueError(f"--db-prefix {self.db_prefix!r} is not a database name prefix "
                             "(lower-case letters, digits and _, starting with a letter or _; "
                             "at most 40 characters)")

    def db(self, what: str) -> str:
        return f"{self.db_prefix}{what}"

    @property
    def dagster_home(self) -> Path:
        return self.home / "dagster_home"

    @property
    def dagster_url(self) -> str:
        return f"http://{self.host}:{self.dagster_port}"

    @property
    def mlflow_url(self) -> str:
        return f"http://{self.host}:{self.mlflow_port}"


def write_dagster_home(cfg: StackConfig) -> dict[str, str]:
    """Write DAGSTER_HOME (dagster.yaml, workspace.yaml); returns the children's environment."""
    home = cfg.dagster_home
    for sub in ("", "storage", "logs"):
        (home / sub).mkdir(parents=True, exist_ok=True)
    (cfg.home / "logs").mkdir(parents=True, exist_ok=True)
    (cfg.home / "mlflow-artifacts").mkdir(parents=True, exist_ok=True)
    shutil.copyfile(DAGSTER_YAML, home / "dagster.yaml")
    (home / "workspace.yaml").write_text(
        "# written by `research-lab stack up`: the user-code gRPC server it starts\n"
        "load_from:\n"
        "  - grpc_server:\n"
        f"      host: {cfg.host}\n"
        f"      port: {cfg.code_port}\n"
        "      location_name: research_lab\n"
    )
    env = dict(os.environ)
    env.update(
        DAGSTER_HOME=str(home),
        DAGSTER_PG_HOST=cfg.pg.host,
        DAGSTER_PG_PORT=str(cfg.pg.port),
        DAGSTER_PG_USER=cfg.pg.user,
        DAGSTER_PG_PASSWORD=cfg.pg.password,
        DAGSTER_PG_DB=cfg.db("dagster"),
        DAGSTER_STORAGE_DIR=str(home / "storage"),
        DAGSTER_LOGS_DIR=str(home / "logs"),
        RESEARCH_LAB_STORE_URL=cfg.store_url or cfg.pg.url(cfg.db("market")),
        PYTHONUNBUFFERED="1",
    )
    # studies of the stack's runs (and of workers given this environment) on <prefix>optuna:
    # one PostgreSQL study storage that every process shares, not each one's journal file
    from research_lab.core.optimize.storage import ENV_VAR as OPTUNA_STORAGE

    env[OPTUNA_STORAGE] = cfg.pg.url(cfg.db("optuna"))
    if cfg.mlflow:
        # the lab's own processes (runs, workers) log to the stack's MLflow server
        env.update(RESEARCH_LAB_MLFLOW_URI=cfg.mlflow_url, MLFLOW_TRACKING_URI=cfg.mlflow_url)
        # MLflow's own switches (no GenAI job runner): what the spec adds to the environment
        env.update({k: v for k, v in mlflow_spec(cfg).environment().items()
                    if os.environ.get(k) != v})
        if cfg.pg.password:
            env["PGPASSWORD"] = cfg.pg.password  # libpq reads it; never on a command line
    return env


@dataclass(frozen=True)
class Service:
    name: str
    argv: list[str]


def services(cfg: StackConfig) -> list[Service]:
    """The processes of the stack, in start order."""
    h, home = cfg.host, cfg.dagster_home
    out = [
        Service(
            "code-server",
            [str(BIN / "dagster"), "code-server", "start", "-m", "research_lab.definitions",
             "-a", "defs", "--location-name", "research_lab", "-h", h, "-p", str(cfg.code_port)],
        ),
        Service(
            "webserver",
            [str(BIN / "dagster-webserver"), "-h", h, "-p", str(cfg.dagster_port),
             "-w", str(home / "workspace.yaml")],
        ),
        Service(
            "daemon",
            [str(BIN / "dagster-daemon"), "run", "-w", str(home / "workspace.yaml")],
        ),
    ]
    if cfg.mlflow:
        out.append(Service("mlflow", mlflow_spec(cfg).command()))
    return out


def mlflow_spec(cfg: StackConfig):
    """The tracking domain's ``ServerSpec`` for the stack's MLflow server (PostgreSQL backend
    without the password: the child gets it as ``PGPASSWORD``)."""
    from research_lab.core.tracking.server import ServerSpec

    no_password = PgServer(cfg.pg.host, cfg.pg.port, cfg.pg.user, "")
    return ServerSpec(
        backend_uri=no_password.url(cfg.db("mlflow"), scheme="postgresql+psycopg2"),
        artifacts_dir=str(cfg.home / "mlflow-artifacts"),
        host=cfg.host,
        port=cfg.mlflow_port,
        workers=1,
    )


def _mlflow_indexes(cfg: StackConfig) -> None:
    """The tracking domain's extra indexes on the MLflow database (idempotent), as
    ``research-lab stack mlflow`` adds them; a failure is reported, not fatal."""
    try:
        from research_lab.core.tracking import migrate

        migrate.apply(cfg.pg.url(cfg.db("mlflow"), scheme="postgresql+psycopg2"))
    except Exception as exc:  # noqa: BLE001 - the stack works without them, only slower
        print(f"stack: warning: MLflow indexes not added: {exc}", file=sys.stderr)


class _Stop(Exception):
    pass


def run_stack(cfg: StackConfig, *, ready_timeout: float = 180.0, out=sys.stdout) -> int:
    """Create databases, write DAGSTER_HOME, start everything, block until stopped."""
    names = [cfg.db(d) for d in DATABASES if not (d == "mlflow" and not cfg.mlflow)]
    if cfg.store_url:
        names.remove(cfg.db("market"))
    created = ensure_databases(cfg.pg, names)
    print(f"stack: PostgreSQL {cfg.pg.host}:{cfg.pg.port}, databases {', '.join(names)}"
          + (f" (created {', '.join(created)})" if created else ""), file=out, flush=True)
    from research_lab.cli.stack_supervisor import Supervisor

    env = write_dagster_home(cfg)
    sup = Supervisor(cfg.home / "logs", services(cfg), env, cfg.dagster_url,
                     cfg.mlflow_url if cfg.mlflow else None)

    def on_signal(signum, _frame):
        raise _Stop(signal.Signals(signum).name)

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        sup.start()
        ready = sup.wait_ready(ready_timeout)
        print(f"stack: Dagster {cfg.dagster_url} (ready in {ready['dagster']:.1f} s)", file=out)
        if cfg.mlflow:
            print(f"stack: MLflow  {cfg.mlflow_url} (ready in {ready['mlflow']:.1f} s)", file=out)
            _mlflow_indexes(cfg)
        print(f"stack: DAGSTER_HOME={cfg.dagster_home}; logs in {cfg.home / 'logs'}; "
              "Ctrl-C stops everything", file=out, flush=True)
        while not (dead := sup.dead()):
            time.sleep(1)
        print(f"stack: service(s) exited: {dead}; stopping the others", file=sys.stderr)
        return 1
    except _Stop as stop:
        print(f"stack: {stop}: stopping", file=out, flush=True)
        return 0
    except RuntimeError as exc:
        print(f"stack: {exc}", file=sys.stderr)
        return 1
    finally:
        for s in previous:  # a second Ctrl-C must not interrupt the stopping
            signal.signal(s, signal.SIG_IGN)
        sup.stop()
        for s, handler in previous.items():
            signal.signal(s, handler)
        print("stack: stopped", file=out, flush=True)
