"""Where runs go: the tracking URI, the embedded artifact folder and the outbox folder.

Resolved at run time (never at import time), first match wins:

================================ ==================================================================
tracking URI                     the ``uri`` argument, else ``RESEARCH_LAB_MLFLOW_URI``, else
                                 MLflow's standard ``MLFLOW_TRACKING_URI``, else the embedded
                                 default ``sqlite:///$RESEARCH_LAB_HOME/mlflow/mlflow.db``
artifact folder (no server)      ``RESEARCH_LAB_MLFLOW_ARTIFACTS``, else ``artifacts/`` beside the
                                 SQLite file (``$RESEARCH_LAB_HOME/mlflow/artifacts`` for a
                                 database URI). A server decides its own (``--artifacts-destination``)
outbox                           ``RESEARCH_LAB_MLFLOW_OUTBOX``, else
                                 ``$RESEARCH_LAB_HOME/mlflow/outbox``
team tag                         ``RESEARCH_LAB_TEAM``, else ``research``
================================ ==================================================================

Credentials for a server use MLflow's standard variables (``MLFLOW_TRACKING_USERNAME`` /
``MLFLOW_TRACKING_PASSWORD`` or ``MLFLOW_TRACKING_TOKEN``), read by MLflow itself: never put
them in the URI of a committed file.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

URI_VARS = ("RESEARCH_LAB_MLFLOW_URI", "MLFLOW_TRACKING_URI")
SCHEMES = ("sqlite", "postgresql", "postgresql+psycopg2", "mysql", "http", "https", "file")


@dataclass(frozen=True)
class TrackingTarget:
    """A resolved tracking destination."""

    uri: str
    outbox_dir: Path
    artifact_root: Path | None = None
    team: str = "research"

    @property
    def scheme(self) -> str:
        return urlparse(self.uri).scheme

    @property
    def is_server(self) -> bool:
        """True for an HTTP(S) tracking server; False for a database or folder used directly."""
        return self.scheme in ("http", "https")

    @property
    def is_sqlite(self) -> bool:
        return self.scheme == "sqlite"


def _home(env: Mapping[str, str]) -> Path:
    from research_lab.core.settings import load_settings

    return load_settings(env=env).home


def check_uri(uri: str) -> str:
    scheme = urlparse(uri).scheme
    if scheme not in SCHEMES:
        raise ValueError(
            f"tracking URI {uri.split('@')[-1]!r} has scheme {scheme or '(none)'!r}; expected one "
            f"of {', '.join(SCHEMES)} (e.g. http://127.0.0.1:5000 or sqlite:///path/mlflow.db)"
        )
    return uri


def resolve_target(
    uri: str | None = None,
    *,
    outbox_dir: str | Path | None = None,
    artifact_root: str | Path | None = None,
    team: str | None = None,
    env: Mapping[str, str] | None = None,
) -> TrackingTarget:
    """The target for ``uri`` (or the environment, or the embedded default)."""
    from research_lab.core.environment import read_environment

    env = os.environ if env is None else env
    variables = read_environment(env)  # every RESEARCH_LAB_* value validated, or SettingsError
    home: Path | None = None
    if uri is None:
        uri = variables.mlflow_uri or env.get("MLFLOW_TRACKING_URI") or None
    if uri is None:
        home = _home(env)
        uri = f"sqlite:///{home / 'mlflow' / 'mlflow.db'}"
    check_uri(uri)
    if outbox_dir is None:
        if variables.mlflow_outbox is not None:
            outbox_dir = variables.mlflow_outbox
        else:
            outbox_dir = (home or _home(env)) / "mlflow" / "outbox"
    root: Path | None = None
    scheme = urlparse(uri).scheme
    if artifact_root is not None:
        root = Path(artifact_root)
    elif scheme not in ("http", "https"):
        if variables.mlflow_artifacts is not None:
            root = variables.mlflow_artifacts
        elif scheme == "sqlite" and uri[len("sqlite:///"):]:
            root = Path(uri[len("sqlite:///"):]).expanduser().resolve().parent / "artifacts"
        else:
            root = (home or _home(env)) / "mlflow" / "artifacts"
    return TrackingTarget(
        uri=uri,
        outbox_dir=Path(outbox_dir).expanduser(),
        artifact_root=root,
        team=team or variables.team or "research",
    )
