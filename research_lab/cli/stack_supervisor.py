"""Run the stack's processes and know when they are ready (used by ``research-lab stack up``).

``Supervisor`` starts each service in its own process group (``start_new_session``), so that
stopping a group ends the service and every process it forked, and nothing else; ``stop``
sends SIGTERM to every group, then SIGKILL after a grace period. Readiness is asked of the
services themselves: the Dagster webserver's GraphQL API (code location loaded, required
daemons healthy) and MLflow's ``/health``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

def _http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:
            return resp.status == 200
    except (urllib.error.URLError, OSError):
        return False


def graphql(base_url: str, query: str, variables: dict | None = None, timeout: float = 30) -> dict:
    """POST a GraphQL query to the Dagster webserver; returns ``data`` (raises on errors)."""
    body = json.dumps({"query": query, "variables": variables or {}}).encode()
    req = urllib.request.Request(
        f"{base_url}/graphql", data=body, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        payload = json.loads(resp.read())
    if payload.get("errors"):
        raise RuntimeError(f"GraphQL errors: {payload['errors']}")
    return payload["data"]


_READY_QUERY = """
{ workspaceOrError { ... on Workspace { locationEntries { name loadStatus
    locationOrLoadError { __typename ... on PythonError { message } } } } }
  instance { daemonHealth { allDaemonStatuses { daemonType healthy required } } } }
"""


def dagster_ready(base_url: str) -> str | None:
    """None once the code location is loaded and the required daemons are healthy, else why not.

    Raises ``RuntimeError`` when the code location failed to load (waiting will not help).
    """
    if not _http_ok(f"{base_url}/server_info"):
        return "webserver not answering"
    try:
        data = graphql(base_url, _READY_QUERY, timeout=10)
    except Exception as exc:  # noqa: BLE001 - not ready yet, whatever the reason
        return f"GraphQL: {exc}"
    entries = data["workspaceOrError"].get("locationEntries", [])
    for e in entries:
        err = e["locationOrLoadError"] or {}
        if err.get("__typename") == "PythonError" and "Unreachable" not in err["message"]:
            raise RuntimeError(f"code location {e['name']} failed to load: "
                               f"{e['locationOrLoadError']['message'].strip()}")
    loaded = [e for e in entries if e["loadStatus"] == "LOADED"
              and (e["locationOrLoadError"] or {}).get("__typename") == "RepositoryLocation"]
    if not loaded:
        return f"code location not loaded: {entries}"
    sick = [d["daemonType"] for d in data["instance"]["daemonHealth"]["allDaemonStatuses"]
            if d["required"] and not d["healthy"]]
    return f"daemons not healthy yet: {', '.join(sick)}" if sick else None


@dataclass
class Supervisor:
    """Starts ``services`` in their own process groups and stops all of them together.

    ``services``: objects with ``name`` and ``argv``; logs go to ``logs/<name>.log``.
    Ready means: the Dagster webserver at ``dagster_url`` passes :func:`dagster_ready`, and the
    MLflow server at ``mlflow_url`` (if any) answers ``/health``.
    """

    logs: Path
    services: list
    env: dict[str, str]
    dagster_url: str
    mlflow_url: str | None = None
    procs: dict[str, subprocess.Popen] = field(default_factory=dict)

    def start(self) -> None:
        self.logs.mkdir(parents=True, exist_ok=True)
        for svc in self.services:
            with open(self.logs / f"{svc.name}.log", "ab") as log:
                self.procs[svc.name] = subprocess.Popen(
                    svc.argv, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL, start_new_session=True, cwd=str(self.logs.parent),
                )

    def dead(self) -> dict[str, int]:
        return {n: p.returncode for n, p in self.procs.items() if p.poll() is not None}

    def wait_ready(self, timeout: float) -> dict[str, float]:
        """Poll until every service answers; returns seconds to ready (``dagster``, ``mlflow``)."""
        t0 = time.monotonic()
        deadline = t0 + timeout
        wanted = {"dagster"} | ({"mlflow"} if self.mlflow_url else set())
        ready: dict[str, float] = {}
        why = "starting"
        while time.monotonic() < deadline:
            if dead := self.dead():
                raise RuntimeError(f"service(s) exited during start-up: {dead}; see {self.logs}")
            if "mlflow" in wanted - set(ready) and _http_ok(f"{self.mlflow_url}/health"):
                ready["mlflow"] = time.monotonic() - t0
            if "dagster" not in ready:
                why = dagster_ready(self.dagster_url) or ""
                if not why:
                    ready["dagster"] = time.monotonic() - t0
            if set(ready) == wanted:
                return ready
            time.sleep(0.5)
        raise RuntimeError(f"stack not ready after {timeout:.0f} s ({why or 'mlflow /health'}); "
                           f"see {self.logs}")

    def stop(self, grace: float = 15.0) -> None:
        """SIGTERM every process group, then SIGKILL those still alive after ``grace`` s."""
        for p in self.procs.values():
            if p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + grace
        for p in self.procs.values():
            try:
                p.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
        for p in self.procs.values():
            try:
                os.killpg(p.pid, signal.SIGKILL)  # the group may outlive its leader
            except (ProcessLookupError, PermissionError):
                pass
            p.wait()
