"""Every ``RESEARCH_LAB_*`` environment variable: its meaning, its default, its validation.

The one place the project reads these variables. :func:`read_environment` returns a typed,
validated :class:`LabEnvironment` (unset or empty variables are ``None``: the reader's default
applies); a bad value raises :class:`SettingsError` naming the variable, before anything runs.
Nothing is read at import time.

:data:`VARIABLES` lists them all (the README's configuration table is the same list); a test
checks that the code base names no ``RESEARCH_LAB_*`` variable missing from it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Optional
from urllib.parse import urlparse

from pydantic import (
    BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator,
)

PREFIX = "RESEARCH_LAB_"


class SettingsError(ValueError):
    """A bad configuration value; the message names the file (or variable) and the field."""


@dataclass(frozen=True)
class Variable:
    name: str
    meaning: str
    default: str


VARIABLES: tuple[Variable, ...] = (
    Variable("RESEARCH_LAB_CONFIG", "the settings YAML file", "config/research_lab.yaml"),
    Variable("RESEARCH_LAB_HOME", "folder of the embedded stores", "~/.research_lab"),
    Variable("RESEARCH_LAB_STORE_URL", "market-data store: sqlite:///path or postgresql://...",
             "sqlite:///$RESEARCH_LAB_HOME/market.db"),
    Variable("RESEARCH_LAB_SOURCE", "market-data source: synthetic, csv or yfinance",
             "the config's source.kind (synthetic)"),
    Variable("RESEARCH_LAB_SEED", "synthetic source seed", "the config's source.seed (42)"),
    Variable("RESEARCH_LAB_CSV_DIR", "landing folder of the csv source", "-"),
    Variable("RESEARCH_LAB_UNIVERSE", "comma-separated symbols", "the config's universe"),
    Variable("RESEARCH_LAB_STRATEGIES", "strategy parameter spaces file",
             "config/strategies.yaml"),
    Variable("RESEARCH_LAB_MLFLOW_URI", "MLflow tracking URI (server URL or database)",
             "sqlite:///$RESEARCH_LAB_HOME/mlflow/mlflow.db"),
    Variable("RESEARCH_LAB_MLFLOW_OUTBOX", "where unsent MLflow runs wait",
             "$RESEARCH_LAB_HOME/mlflow/outbox"),
    Variable("RESEARCH_LAB_MLFLOW_ARTIFACTS", "MLflow artifact folder (no server)",
             "$RESEARCH_LAB_HOME/mlflow/artifacts"),
    Variable("RESEARCH_LAB_MLFLOW_BACKEND_URI", "backend of `research-lab stack mlflow`",
             "sqlite:///$RESEARCH_LAB_HOME/mlflow/mlflow.db"),
    Variable("RESEARCH_LAB_MLFLOW_PORT", "port of the MLflow UI `scripts/lab demo` serves",
             "5000"),
    Variable("RESEARCH_LAB_TEAM", "run tag: team", "research"),
    Variable("RESEARCH_LAB_CODE_VERSION", "run tag: code version", "the git sha"),
    Variable("RESEARCH_LAB_ALERT_WEBHOOK_URL", "webhook for critical anomalies (http/https)",
             "unset: no alerts"),
    Variable("RESEARCH_LAB_UI_URL", "base of the links in alerts",
             "http://127.0.0.1:$RESEARCH_LAB_PORT"),
    Variable("RESEARCH_LAB_PORT", "port of the Dagster UI", "3000"),
    Variable("RESEARCH_LAB_QUALITY_THRESHOLDS", "calibrated quality thresholds file",
             "config/quality_thresholds.yaml if present"),
    Variable("RESEARCH_LAB_RL_CONFIG", "RL configuration file", "config/rl.yaml"),
    Variable("RESEARCH_LAB_OPTIMIZE_CONFIG", "optimization settings file",
             "config/optimize.yaml"),
    Variable("RESEARCH_LAB_OPTUNA_STORAGE", "Optuna storage: postgresql://... or journal:///path",
             "$RESEARCH_LAB_HOME/optuna/studies.journal"),
    Variable("RESEARCH_LAB_DAGSTER_URL", "Dagster webserver the HTTP API launches runs on",
             "http://127.0.0.1:3000"),
    Variable("RESEARCH_LAB_PG_URL", "PostgreSQL server of `research-lab stack up`",
             "postgresql://postgres@127.0.0.1:5432"),
    Variable("RESEARCH_LAB_EXECUTOR", "run executor: multiprocess, celery or k8s",
             "multiprocess"),
    Variable("RESEARCH_LAB_CELERY_BROKER", "Celery broker URL (amqp:// or redis://)",
             "pyamqp://guest@127.0.0.1:5672//"),
    Variable("RESEARCH_LAB_CELERY_BACKEND", "Celery result backend URL",
             "rpc:// (RabbitMQ) or the broker URL (Redis)"),
    Variable("RESEARCH_LAB_TEST_PG_URL", "PostgreSQL server the tests use",
             "postgresql://postgres@127.0.0.1:5432/postgres"),
    Variable("RESEARCH_LAB_SHARED_DATA", "folder of real daily bars (quality evaluation, tests)",
             "../shared/data beside the repository"),
    Variable("RESEARCH_LAB_VENV", "scripts/lab: the virtual environment", "./.venv"),
    Variable("RESEARCH_LAB_TEST_WORKERS", "scripts/lab test: pytest workers", "2"),
    Variable("RESEARCH_LAB_IMAGE_TAG", "docker compose: tag of the images", "latest"),
    Variable("RESEARCH_LAB_API_TOKEN",
             "bearer token of the HTTP API (`research-lab optimize serve`); required to bind "
             "anything but loopback", "unset: loopback only, no token"),
    Variable("RESEARCH_LAB_PG_PASSWORD",
             "a PostgreSQL password kept out of URLs; its value is masked in every message "
             "and log (core/redact.py)", "unset"),
)

_SQL = ("sqlite:///", "postgresql://", "postgresql+psycopg2://")
_SQL_SCHEMES = tuple(p.partition(":")[0] for p in _SQL)
_MLFLOW = ("sqlite", "postgresql", "postgresql+psycopg2", "mysql", "http", "https", "file")
_BROKERS = ("amqp://", "pyamqp://", "amqps://", "redis://", "rediss://")


def _field(name: str) -> str:
    return name[len(PREFIX):].lower()


class LabEnvironment(BaseModel):
    """The validated ``RESEARCH_LAB_*`` variables (field = name without the prefix, lower
    case); ``None`` where unset."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    config: Optional[Path] = None
    home: Optional[Path] = None
    store_url: Optional[str] = None
    source: Optional[Literal["synthetic", "csv", "yfinance"]] = None
    seed: Optional[int] = Field(default=None, ge=0)
    csv_dir: Optional[str] = None
    universe: Optional[tuple[str, ...]] = None
    strategies: Optional[Path] = None
    mlflow_uri: Optional[str] = None
    mlflow_outbox: Optional[Path] = None
    mlflow_artifacts: Optional[Path] = None
    mlflow_backend_uri: Optional[str] = None
    mlflow_port: Optional[int] = Field(default=None, ge=1, le=65535)
    team: Optional[str] = None
    code_version: Optional[str] = None
    alert_webhook_url: Optional[str] = None
    ui_url: Optional[str] = None
    port: Optional[int] = Field(default=None, ge=1, le=65535)
    quality_thresholds: Optional[Path] = None
    rl_config: Optional[Path] = None
    optimize_config: Optional[Path] = None
    optuna_storage: Optional[str] = None
    dagster_url: Optional[str] = None
    pg_url: Optional[str] = None
    executor: Optional[Literal["multiprocess", "celery", "k8s"]] = None
    celery_broker: Optional[str] = None
    celery_backend: Optional[str] = None
    test_pg_url: Optional[str] = None
    shared_data: Optional[Path] = None
    venv: Optional[Path] = None
    test_workers: Optional[int] = Field(default=None, ge=0)
    image_tag: Optional[str] = None
    api_token: Optional[str] = Field(default=None, repr=False)
    pg_password: Optional[str] = Field(default=None, repr=False)

    @field_validator("home", "config", "strategies", "mlflow_outbox", "mlflow_artifacts",
                     "quality_thresholds", "rl_config", "optimize_config", "shared_data",
                     mode="after")
    @classmethod
    def expand_path(cls, v: Optional[Path]) -> Optional[Path]:
        return v.expanduser() if v is not None else v

    @field_validator("universe", mode="before")
    @classmethod
    def split_symbols(cls, v):
        if isinstance(v, str):
            v = tuple(s.strip() for s in v.split(",") if s.strip())
            if not v:
                raise ValueError("no symbol in the comma-separated list")
        from research_lab.core.settings import _symbols  # the one universe rule

        return _symbols(v)

    @field_validator("store_url", "mlflow_backend_uri")
    @classmethod
    def check_sql_url(cls, v: Optional[str], info: ValidationInfo) -> Optional[str]:
        if v is not None and not v.startswith(_SQL):
            what = "store URL" if info.field_name == "store_url" else "backend URL"
            expected = "expected sqlite:///path or postgresql://user@host:5432/db"
            scheme = v.partition("://")[0] if "://" in v else ""
            if scheme and scheme not in _SQL_SCHEMES:
                raise ValueError(f"{what} scheme {scheme[:20]!r} is not one of "
                                 f"{', '.join(_SQL_SCHEMES)} ({expected})")
            raise ValueError(f"not a {what}: {expected}")
        return v

    @field_validator("pg_url", "test_pg_url")
    @classmethod
    def check_pg_url(cls, v: Optional[str]) -> Optional[str]:
        if v is not None and (not v.startswith(_SQL[1:]) or not urlparse(v).hostname):
            raise ValueError("expected postgresql://user@host:5432[/db]")
        return v

    @field_validator("mlflow_uri")
    @classmethod
    def check_mlflow_uri(cls, v: Optional[str]) -> Optional[str]:
        if v is not None and urlparse(v).scheme not in _MLFLOW:
            raise ValueError(f"the scheme must be one of {', '.join(_MLFLOW)} "
                             "(e.g. http://127.0.0.1:5000 or sqlite:///path/mlflow.db)")
        return v

    @field_validator("alert_webhook_url", "ui_url", "dagster_url")
    @classmethod
    def check_http_url(cls, v: Optional[str]) -> Optional[str]:
        if v is not None and urlparse(v).scheme not in ("http", "https"):
            raise ValueError("expected an http:// or https:// URL")
        if v is not None and not urlparse(v).hostname:
            raise ValueError("the URL has no host (expected http://host/... or https://host/...)")
        return v

    @field_validator("optuna_storage")
    @classmethod
    def check_optuna(cls, v: Optional[str]) -> Optional[str]:
        if v is not None and not v.startswith(("journal:///", *_SQL)):
            raise ValueError("expected postgresql://..., sqlite:///path or journal:///path")
        return v

    @field_validator("celery_broker")
    @classmethod
    def check_broker(cls, v: Optional[str]) -> Optional[str]:
        if v is not None and not v.startswith(_BROKERS):
            raise ValueError("neither an AMQP (RabbitMQ) nor a Redis URL")
        return v


def _shown(name: str, value: str) -> str:
    """The value as a message may show it: URLs without their password."""
    from research_lab.core.settings import mask_url

    return mask_url(value) if "URL" in name or "URI" in name or "STORAGE" in name else value


def read_environment(env: Mapping[str, str] | None = None) -> LabEnvironment:
    """The ``RESEARCH_LAB_*`` variables of ``env`` (default: the process's), validated."""
    env = os.environ if env is None else env
    given = {v.name: env[v.name] for v in VARIABLES if env.get(v.name, "").strip()}
    try:
        return LabEnvironment(**{_field(k): v.strip() for k, v in given.items()})
    except ValidationError as exc:
        err = exc.errors()[0]
        name = PREFIX + str(err["loc"][0]).upper()
        shown = f"{name}={_shown(name, given.get(name, ''))!r}"
        if err["type"] == "literal_error":
            choices = err.get("ctx", {}).get("expected", "").replace("'", "").replace(" or ", ", ")
            raise SettingsError(f"{shown} is not one of {choices}") from None
        msg = err["msg"].removeprefix("Value error, ")
        raise SettingsError(f"{shown}: {msg}") from None


def check_environment(env: Mapping[str, str] | None = None) -> None:
    """Fail with :class:`SettingsError` on the first bad ``RESEARCH_LAB_*`` value."""
    read_environment(env)
