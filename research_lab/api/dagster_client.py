"""The API's only contact with Dagster: its GraphQL endpoint (launch a run, find a run by tag,
terminate a run, read why a run failed).

``RESEARCH_LAB_DAGSTER_URL`` (default ``http://127.0.0.1:3000``) is read when a request needs
it, never at import time. Launching goes through ``dagster_graphql.DagsterGraphQLClient``
(it finds the code location that holds the job); finding a study's run by its tag is one plain
GraphQL query.
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import urlparse

URL_VAR = "RESEARCH_LAB_DAGSTER_URL"
DEFAULT_URL = "http://127.0.0.1:3000"
STUDY_TAG = "research_lab/study_id"

RUNS_BY_TAG = """
query StudyRuns($key: String!, $value: String!) {
  runsOrError(filter: {tags: [{key: $key, value: $value}]}, limit: 5) {
    __typename
    ... on Runs { results { runId status startTime endTime tags { key value } } }
    ... on PythonError { message }
  }
}
"""


RUN_FAILURE = """
query RunFailure($runId: ID!) {
  logsForRun(runId: $runId, limit: 500) {
    __typename
    ... on EventConnection { events { __typename
      ... on ExecutionStepFailureEvent { message error { message } }
      ... on RunFailureEvent { message } } }
  }
}
"""


class DagsterUnavailable(RuntimeError):
    """The webserver did not answer, or refused the request (the API answers 502)."""


def dagster_url() -> str:
    return os.environ.get(URL_VAR) or DEFAULT_URL


def _client():
    from dagster_graphql import DagsterGraphQLClient

    u = urlparse(dagster_url())
    return DagsterGraphQLClient(u.hostname or "127.0.0.1", port_number=u.port,
                                use_https=u.scheme == "https", timeout=30,
                                path_prefix=u.path.rstrip("/"))


def launch_run(job_name: str, run_config: dict[str, Any], tags: dict[str, str]) -> str:
    """Submit a run; returns its run id."""
    from dagster_graphql import DagsterGraphQLClientError

    try:
        return _client().submit_job_execution(job_name, run_config=run_config, tags=tags)
    except DagsterGraphQLClientError as exc:
        raise DagsterUnavailable(f"Dagster refused the run: {exc}") from None
    except Exception as exc:  # noqa: BLE001 - connection refused, timeouts
        raise DagsterUnavailable(f"Dagster at {dagster_url()} is not reachable: "
                                 f"{type(exc).__name__}: {exc}") from None


def terminate_run(run_id: str) -> None:
    """Ask Dagster to terminate the run (its step is interrupted; the study stops)."""
    from dagster_graphql import DagsterGraphQLClientError

    try:
        _client().terminate_run(run_id)
    except DagsterGraphQLClientError as exc:
        raise DagsterUnavailable(f"Dagster refused to terminate run {run_id}: {exc}") from None
    except Exception as exc:  # noqa: BLE001
        raise DagsterUnavailable(f"Dagster at {dagster_url()} is not reachable: "
                                 f"{type(exc).__name__}: {exc}") from None


def _graphql(query: str, variables: dict[str, Any]) -> dict[str, Any]:
    import requests

    try:
        resp = requests.post(f"{dagster_url().rstrip('/')}/graphql", timeout=15,
                             json={"query": query, "variables": variables})
        resp.raise_for_status()
        return resp.json()
    except Exception as exc:  # noqa: BLE001
        raise DagsterUnavailable(f"Dagster at {dagster_url()} is not reachable: {exc}") from None


def run_failure(run_id: str) -> str | None:
    """The first step failure's message of a failed run (else the run failure's), or None."""
    body = _graphql(RUN_FAILURE, {"runId": run_id})
    events = (((body.get("data") or {}).get("logsForRun") or {}).get("events")) or []
    for kind in ("ExecutionStepFailureEvent", "RunFailureEvent"):
        for e in events:
            if e.get("__typename") == kind:
                err = (e.get("error") or {}).get("message")
                return (err or e.get("message") or "").strip() or None
    return None


def study_run(study_id: str) -> dict[str, Any] | None:
    """The latest run tagged with ``study_id`` ({runId, status, startTime, endTime}), or None."""
    body = _graphql(RUNS_BY_TAG, {"key": STUDY_TAG, "value": study_id})
    data = (body.get("data") or {}).get("runsOrError") or {}
    if data.get("__typename") != "Runs":
        raise DagsterUnavailable(f"Dagster query failed: {data.get('message') or body}")
    runs = data.get("results") or []
    return runs[0] if runs else None
