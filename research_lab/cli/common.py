"""Argument types and helpers shared by the sub-commands."""

from __future__ import annotations

import argparse
from datetime import date


def iso_date(text: str) -> date:
    """An argparse type: YYYY-MM-DD, with an error that says so."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (expected YYYY-MM-DD)") from None


def symbols_arg(values: list[str]) -> list[str]:
    out = []
    for v in values:
        out.extend(s.strip().upper() for s in v.split(",") if s.strip())
    return list(dict.fromkeys(out))
