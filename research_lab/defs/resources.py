"""Resources: the market-data source, the store and the exchange calendar.

Each field left unset falls back, at run time (never at import time), to
``config/research_lab.yaml`` overlaid by the environment (see ``core/settings.py``): e.g. the store
URL comes from ``RESEARCH_LAB_STORE_URL``, else the embedded SQLite file under
``RESEARCH_LAB_HOME``. In the launchpad or in code, any field can also be given an
``EnvVar("...")`` so that a secret URL is read from the environment of the process that runs.
"""

from __future__ import annotations

from typing import Optional

import dagster as dg
from pydantic import Field, PrivateAttr

from research_lab.core.settings import load_settings


class StoreResource(dg.ConfigurableResource):
    """The market-data store (embedded SQLite by default, PostgreSQL for teams)."""

    url: Optional[str] = Field(
        default=None,
        description="Store URL: sqlite:///path/market.db or postgresql://user@host:5432/db. "
        "Unset: RESEARCH_LAB_STORE_URL, else sqlite under RESEARCH_LAB_HOME.",
    )
    _store = PrivateAttr(default=None)

    def resolved_url(self) -> str:
        return self.url or load_settings().resolved_store_url

    def open(self):
        """The store, opened once per run (or per sensor tick) and closed after it."""
        if self._store is None:
            from research_lab.core.marketdata.store import BarStore

            self._store = BarStore.from_url(self.resolved_url())
        return self._store

    def teardown_after_execution(self, context) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None


class SourceResource(dg.ConfigurableResource):
    """Where bars come from: the synthetic generator, a CSV landing folder, or yfinance."""

    kind: Optional[str] = Field(
        default=None, description="synthetic | csv | yfinance (unset: config / RESEARCH_LAB_SOURCE)"
    )
    seed: Optional[int] = Field(default=None, description="Synthetic source seed.")
    csv_dir: Optional[str] = Field(default=None, description="Landing folder of the csv source.")
    symbols: Optional[list[str]] = Field(
        default=None, description="Universe offered by synthetic/yfinance (unset: config)."
    )

    def get(self):
        from research_lab.core.marketdata.sources import make_source

        settings = load_settings()
        overrides = {
            k: v
            for k, v in {
                "source_kind": self.kind,
                "seed": self.seed,
                "csv_dir": self.csv_dir,
                "universe": tuple(s.upper() for s in self.symbols) if self.symbols else None,
            }.items()
            if v is not None
        }
        settings = settings.replace(**overrides)
        options = settings.source_options()
        options["calendar"] = CalendarResource(name=settings.calendar).get()
        return make_source(settings.source_kind, **options)


class CalendarResource(dg.ConfigurableResource):
    """The exchange calendar (NYSE by default)."""

    name: str = Field(default="XNYS", description="exchange_calendars code, e.g. XNYS, XLON.")

    def get(self):
        from research_lab.core.marketdata.calendar import TradingCalendar

        return TradingCalendar(self.name)


def default_resources() -> dict[str, dg.ConfigurableResource]:
    return {
        "store": StoreResource(),
        "source": SourceResource(),
        "calendar": CalendarResource(),
    }
