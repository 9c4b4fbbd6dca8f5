"""Replay: write the runs that wait in the outbox, oldest first, idempotently.

Used by ``ExperimentTracker.replay_outbox``, ``research-lab project replay-outbox`` and the
Dagster ``replay_tracking_outbox_job``. Each record is written with ``lookup=True`` (searched by
its run key first, see :mod:`.writer`), so a record that was in fact written before — the
answer was lost, or a tracker in another process is still busy with it — is found, not
duplicated. Parents come before their children because entries are ordered by sequence number.
A transient failure (the server went away) stops the replay: the rest would only fail too; a
permanent one is recorded on the entry and the replay goes on.
"""

from __future__ import annotations

from research_lab.core.tracking.outbox import Outbox, OutboxBusy
from research_lab.core.tracking.retry import Backoff, is_transient, retry_call
from research_lab.core.tracking.tickets import ReplayReport, short_error
from research_lab.core.tracking.writer import MlflowWriter


def replay(outbox: Outbox, writer: MlflowWriter, backoff: Backoff = Backoff(), *,
           limit: int | None = None) -> ReplayReport:
    """Write up to ``limit`` pending entries of ``outbox`` through ``writer``."""
    report = ReplayReport()
    try:
        with outbox.replay_lock():
            entries = outbox.entries()[:limit]
            for i, entry in enumerate(entries):
                record = entry.record()
                try:
                    run_id = retry_call(lambda: writer.write(record, lookup=True), backoff)
                except Exception as exc:  # noqa: BLE001 - recorded on the entry
                    outbox.update(entry, record.with_attempt(short_error(exc)))
                    report.failed.append((record.key, short_error(exc)))
                    if is_transient(exc):
                        return ReplayReport(report.written, report.failed,
                                            left=len(entries) - i - 1)
                    continue
                outbox.remove(entry)
                report.written.append((record.key, run_id))
    except OutboxBusy:
        return ReplayReport(busy=True)
    return report
