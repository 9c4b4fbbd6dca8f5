"""Run-config pieces shared by the domains' assets."""

from __future__ import annotations

from datetime import date
from typing import Optional

import dagster as dg
from pydantic import Field


class SessionRangeConfig(dg.Config):
    """``start`` / ``end`` sessions of the stored history an asset reads."""

    start: Optional[str] = Field(default=None, description="First session YYYY-MM-DD (unset: "
                                 "all stored history).")
    end: Optional[str] = Field(default=None, description="Last session YYYY-MM-DD (unset: the "
                               "last stored).")

    def session_range(self) -> tuple[date | None, date | None]:
        """``(start, end)`` as dates (None where unset); ValueError naming a bad one."""
        out = []
        for name in ("start", "end"):
            text = getattr(self, name)
            try:
                out.append(date.fromisoformat(text) if text else None)
            except ValueError:
                raise ValueError(f"config {name}={text!r} is not a date (YYYY-MM-DD)") from None
        return out[0], out[1]
