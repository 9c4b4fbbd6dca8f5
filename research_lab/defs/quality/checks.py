"""Asset checks of ``anomaly_scores``, computed in the same step from the scores just written.

=================== ========= ========== ====================================================
check               severity  blocking   fails when
=================== ========= ========== ====================================================
no_open_criticals   ERROR     yes        a scored partition is critical and unacknowledged
no_warnings         WARN      no         a scored partition has severity warning
=================== ========= ========== ====================================================

In a single-partition run a failing ``no_open_criticals`` skips downstream assets of the same
run. In a range run Dagster records one check result for the whole run, so the metadata lists
every failing partition (and the scores table holds each partition's own verdict).
"""

import dagster as dg

QUALITY_CHECKS = {
    "no_open_criticals": ("ERROR", True, "No scored partition is critical and unacknowledged."),
    "no_warnings": ("WARN", False, "No scored partition has a warning."),
}

anomaly_scores_check_specs = [
    dg.AssetCheckSpec(name, asset="anomaly_scores", description=f"[{sev}] {text}", blocking=blocking)
    for name, (sev, blocking, text) in QUALITY_CHECKS.items()
]


def _details(lines: list[str], limit: int = 50) -> dg.MetadataValue:
    more = [f"- ... and {len(lines) - limit} more"] if len(lines) > limit else []
    return dg.MetadataValue.md("\n".join([f"- {x}" for x in lines[:limit]] + more) or "none")


def check_results(open_lines: list[str], warning_lines: list[str]) -> list[dg.AssetCheckResult]:
    """Results of both checks from ``SYMBOL SESSION: reason`` lines."""
    return [
        dg.AssetCheckResult(
            check_name="no_open_criticals", passed=not open_lines,
            severity=dg.AssetCheckSeverity.ERROR,
            metadata={"open_criticals": len(open_lines), "details": _details(open_lines)},
        ),
        dg.AssetCheckResult(
            check_name="no_warnings", passed=not warning_lines,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={"warnings": len(warning_lines), "details": _details(warning_lines)},
        ),
    ]
