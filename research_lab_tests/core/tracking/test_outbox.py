import subprocess
import sys
import textwrap

import pytest

from research_lab.core.tracking.outbox import Outbox, OutboxBusy
from research_lab.core.tracking.records import RunRecord


def _record(key, artifact=None, **kw):
    return RunRecord(key=key, experiment="P.A.F.S", metrics={"m": 1.0},
                     artifacts={"out/result.json": str(artifact)} if artifact else {}, **kw)


def test_put_copies_artifacts_and_lists_oldest_first(tmp_path, artifact):
    box = Outbox(tmp_path / "outbox")
    first = box.put(_record("k1", artifact))
    box.put(_record("k2"))
    artifact.write_text("changed after logging")  # the outbox kept its own copy
    entries = box.entries()
    assert [e.record().key for e in entries] == ["k1", "k2"]
    rec = entries[0].record()
    assert rec.artifacts == {"out/result.json": str(first.files / "out/result.json")}
    assert (first.files / "out/result.json").read_text() == '{"final_value": 10500.0}'
    box.remove(entries[0])
    assert len(box) == 1 and not first.files.exists()


def test_update_keeps_attempts_and_error(tmp_path):
    box = Outbox(tmp_path)
    entry = box.put(_record("k1"))
    box.update(entry, entry.record().with_attempt("ConnectionError: down"))
    again = box.entries()[0].record()
    assert again.attempts == 1 and again.last_error == "ConnectionError: down"


def test_a_live_journal_is_left_alone_and_released_on_close(tmp_path, artifact):
    box = Outbox(tmp_path)
    journal = box.journal()
    journal.add(_record("k1", artifact))
    assert box.entries() == []  # its owner (this process) is alive: not adopted
    journal.close()
    entries = box.entries()
    assert [e.record().key for e in entries] == ["k1"]
    assert (entries[0].files / "out/result.json").exists()
    assert list(box.live_dir.iterdir()) == []


def test_the_journal_of_a_dead_process_is_adopted(tmp_path):
    code = textwrap.dedent(f"""
        import os
        from research_lab.core.tracking.outbox import Outbox
        from research_lab.core.tracking.records import RunRecord
        Outbox({str(tmp_path)!r}).journal().add(RunRecord(key="orphan", experiment="P.A.F.S"))
        os._exit(0)   # no close(): as if killed
    """)
    subprocess.run([sys.executable, "-c", code], check=True)
    box = Outbox(tmp_path)
    assert [e.record().key for e in box.entries()] == ["orphan"]
    assert list(box.live_dir.iterdir()) == []


def test_only_one_replay_at_a_time(tmp_path):
    box = Outbox(tmp_path)
    with box.replay_lock():
        with pytest.raises(OutboxBusy):
            with Outbox(tmp_path).replay_lock():
                pass
    with box.replay_lock():  # released
        pass
