"""How an asset presents a use case's refusal: a ``dg.Failure`` (no retry) with metadata.

The use cases (:mod:`research_lab.core.usecases`) raise ``QualityGateError`` for a symbol with
open critical anomalies and ``ValueError`` for bad input or missing data; the CLI prints the
same message as one line with exit code 2. Use::

    try:
        run = backtest_symbol(...)
    except ValueError as exc:
        raise use_case_failure(exc) from None
"""

import dagster as dg


def use_case_failure(exc: ValueError) -> dg.Failure:
    """``dg.Failure`` for a refused use case; a quality-gate refusal lists the anomalies."""
    from research_lab.core.quality.gate import QualityGateError

    if not isinstance(exc, QualityGateError):
        return dg.Failure(description=str(exc), allow_retries=False)
    rows = ["| session | reason |", "|---|---|"] + [
        f"| {a.session} | {(a.reasons[0] if a.reasons else '')[:150]} |"
        for a in exc.anomalies[:50]
    ]
    return dg.Failure(
        description=str(exc),
        metadata={
            "open_criticals": dg.MetadataValue.int(len(exc.anomalies)),
            "anomalies": dg.MetadataValue.md("\n".join(rows)),
        },
        allow_retries=False,
    )
