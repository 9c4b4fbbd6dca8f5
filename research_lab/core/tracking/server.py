"""A local ``mlflow server``: start it, wait until it answers ``/health``, stop it.

Used by ``research-lab stack mlflow``, the integration tests and the benchmarks::

    spec = ServerSpec(backend_uri="postgresql://postgres@127.0.0.1:5432/mlflow",
                      artifacts_dir="/srv/mlflow/artifacts", port=5000)
    with MlflowServer(spec) as server:      # starts, waits for /health (deadline: 90 s)
        print(server.url)                    # http://127.0.0.1:5000

The server runs in its own process group (``start_new_session``), so that :meth:`stop` ends it
and every worker it forked, and nothing else. It serves artifacts itself
(``--artifacts-destination``): clients upload through HTTP and need no access to the folder.
MLflow's GenAI job runner (a pool of extra processes) is off unless ``job_execution=True``:
it is not used here and doubles the start-up time (13 s -> 7 s on 2 cores with ``workers=1``).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from research_lab.core.settings import mask_url


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


@dataclass(frozen=True)
class ServerSpec:
    """How to run the server. ``backend_uri``: ``sqlite:///path.db`` or
    ``postgresql://user@host:5432/db`` (password from ``PGPASSWORD`` or a ``.pgpass``, or in
    the URI only when it comes from the environment)."""

    backend_uri: str
    artifacts_dir: str
    host: str = "127.0.0.1"
    port: int = 5000
    workers: int = 1
    job_execution: bool = False
    allowed_hosts: str | None = None

    @property
    def url(self) -> str:
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::") else self.host
        return f"http://{host}:{self.port}"

    def command(self) -> list[str]:
        cmd = [
            sys.executable, "-m", "mlflow", "server",
            "--backend-store-uri", self.backend_uri,
            "--artifacts-destination", str(self.artifacts_dir),
            "--host", self.host, "--port", str(self.port), "--workers", str(self.workers),
        ]
        if self.allowed_hosts:
            cmd += ["--allowed-hosts", self.allowed_hosts]
        return cmd

    def environment(self) -> dict[str, str]:
        env = dict(os.environ)
        env.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")  # no outside host to report to
        if not self.job_execution:
            env["MLFLOW_SERVER_ENABLE_JOB_EXECUTION"] = "false"
        return env


class ServerError(RuntimeError):
    """The server exited or did not answer in time; the message holds its log's tail."""


class MlflowServer:
    """One ``mlflow server`` process group (see the module docstring)."""

    def __init__(self, spec: ServerSpec, log_path: str | os.PathLike | None = None) -> None:
        self.spec = spec
        self.log_path = Path(log_path) if log_path else Path(spec.artifacts_dir).parent / (
            f"mlflow-server-{spec.port}.log")
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return self.spec.url

    def start(self, wait: float | None = 90.0) -> MlflowServer:
        """Start the server; with ``wait``, block until ``/health`` answers (or raise)."""
        if self.proc is not None and self.proc.poll() is None:
            raise ServerError(f"the server at {self.url} is already running")
        Path(self.spec.artifacts_dir).mkdir(parents=True, exist_ok=True)
        if self.spec.backend_uri.startswith("sqlite:///"):
            Path(self.spec.backend_uri[len("sqlite:///"):]).parent.mkdir(parents=True,
                                                                         exist_ok=True)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                self.spec.command(), stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, env=self.spec.environment(), start_new_session=True,
            )
        if wait:
            self.wait_healthy(wait)
        return self

    def healthy(self, timeout: float = 2.0) -> bool:
        return is_healthy(self.url, timeout)

    def wait_healthy(self, timeout: float = 90.0) -> float:
        """Poll ``/health`` until it answers; returns the seconds it took."""
        started = time.monotonic()
        deadline = started + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise ServerError(
                    f"mlflow server exited with code {self.proc.returncode} "
                    f"(backend {mask_url(self.spec.backend_uri)}):\n{self.log_tail()}")
            if self.healthy(1.0):
                return time.monotonic() - started
            time.sleep(0.2)
        raise ServerError(f"mlflow server at {self.url} did not answer /health within "
                          f"{timeout:.0f} s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM the server's process group, SIGKILL it after ``timeout``."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
            except ProcessLookupError:
                pass
        try:  # workers that outlived the parent still sit in the group
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self.proc = None

    def kill(self) -> None:
        """SIGKILL the process group at once (a crash, for tests; :meth:`stop` is graceful)."""
        if self.proc is not None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait(10)
            self.proc = None

    def __enter__(self) -> MlflowServer:
        if self.proc is None:
            self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def is_healthy(url: str, timeout: float = 2.0) -> bool:
    """True if the MLflow server at ``url`` answers ``GET /health`` with 200."""
    from urllib.parse import urlparse

    host = urlparse(url).hostname or ""
    handlers = [urllib.request.ProxyHandler({})] if host in ("127.0.0.1", "localhost", "::1") else []
    try:
        opener = urllib.request.build_opener(*handlers)
        with opener.open(url.rstrip("/") + "/health", timeout=timeout) as resp:
            return resp.status == 200
    except (urllib.error.URLError, OSError, ValueError):
        return False
