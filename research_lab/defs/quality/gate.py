"""The quality gate for downstream assets (backtests, studies, policies) of one symbol.

Call it first thing in the asset::

    from research_lab.defs.quality.gate import quality_gate

    quality_gate(store.open(), symbol)   # dg.Failure listing the open critical anomalies

and declare the dependency so the graph shows it (and a failing blocking check of
``anomaly_scores`` in the same run skips the asset)::

    deps=[dg.AssetDep("anomaly_scores", partition_mapping=dg.MultiToSingleDimensionPartitionMapping(
        partition_dimension_name="symbol"))]
"""

import dagster as dg


def quality_gate(store, symbol: str) -> None:
    """Raise ``dg.Failure`` (no retry) when ``symbol`` has open critical anomalies."""
    from research_lab.core.quality.gate import QualityGateError, require_no_open_criticals

    try:
        require_no_open_criticals(store, symbol)
    except QualityGateError as exc:
        rows = ["| session | reason |", "|---|---|"] + [
            f"| {a.session} | {(a.reasons[0] if a.reasons else '')[:150]} |" for a in exc.anomalies[:50]
        ]
        raise dg.Failure(
            description=str(exc),
            metadata={
                "open_criticals": dg.MetadataValue.int(len(exc.anomalies)),
                "anomalies": dg.MetadataValue.md("\n".join(rows)),
            },
            allow_retries=False,
        ) from None
