"""A tiny GitHub-flavoured markdown table renderer (no tabulate dependency).

Dagster shows ``MetadataValue.md`` as rendered markdown, MLflow stores it as a text artifact,
and both read well in a terminal. ``DataFrame.to_markdown`` needs the optional ``tabulate``
package, so this module renders the two shapes the lab needs itself:

>>> import pandas as pd
>>> print(markdown_table(pd.DataFrame({"regime": ["bull"], "sharpe": [1.23456]})))
| regime | sharpe |
|:-------|-------:|
| bull   |  1.235 |
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd


def format_cell(value: object, floatfmt: str = ".4g") -> str:
    """One cell: floats with ``floatfmt``, NaN as an empty cell, ``|`` escaped."""
    if isinstance(value, (float, np.floating)):
        if math.isnan(value):
            return ""
        return format(float(value), floatfmt)
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return str(int(value))
    return str(value).replace("|", "\\|").replace("\n", " ")


def markdown_table(frame: pd.DataFrame, floatfmt: str = ".4g", index: bool = False) -> str:
    """``frame`` as a markdown table: numbers right-aligned, text left-aligned."""
    data = frame.reset_index() if index else frame
    headers = [format_cell(c) for c in data.columns]
    rows = [[format_cell(v, floatfmt) for v in row] for row in data.itertuples(index=False)]
    numeric = [pd.api.types.is_numeric_dtype(data[c]) for c in data.columns]
    widths = [max([len(h), 3, *(len(r[i]) for r in rows)]) for i, h in enumerate(headers)]

    def line(cells: list[str]) -> str:
        cols = zip(cells, widths, numeric, strict=True)
        return "| " + " | ".join(c.rjust(w) if num else c.ljust(w) for c, w, num in cols) + " |"

    cols = zip(widths, numeric, strict=True)
    rule = ["-" * (w + 1) + ":" if num else ":" + "-" * (w + 1) for w, num in cols]
    return "\n".join([line(headers), "|" + "|".join(rule) + "|", *(line(r) for r in rows)])


def metrics_markdown(metrics: Mapping[str, float], floatfmt: str = ".4g") -> str:
    """A ``{name: value}`` dict as a two-column ``| metric | value |`` table."""
    frame = pd.DataFrame({"metric": list(metrics), "value": [float(v) for v in metrics.values()]})
    return markdown_table(frame, floatfmt=floatfmt)
