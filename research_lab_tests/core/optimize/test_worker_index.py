"""The seed offset of a worker started on its own (``research-lab optimize worker``): replicas of
one container image (each worker pid 1, host name = container id) must not sample alike."""

from __future__ import annotations

import os
import socket

from research_lab.core.optimize.config import SamplerSettings
from research_lab.core.optimize.sampler import make_sampler
from research_lab.core.optimize.worker import standalone_worker_index

# host names as podman and Docker give containers: the first 12 hex digits of the container id
CONTAINER_HOSTS = [f"{n:012x}" for n in range(0x3F2A9C1B7E00, 0x3F2A9C1B7E00 + 64 * 7919, 7919)]


def test_replicas_with_pid_1_get_distinct_indices():
    indices = [standalone_worker_index(host, 1) for host in CONTAINER_HOSTS]
    assert len(set(indices)) == len(CONTAINER_HOSTS)


def test_processes_on_one_host_get_distinct_indices():
    indices = [standalone_worker_index("lab-server", pid) for pid in range(1000, 1064)]
    assert len(set(indices)) == 64


def test_index_is_stable_and_past_the_runners_own_workers():
    # stable across processes (no per-process hash seed): a restarted worker with the same
    # host and pid resumes the same seed
    assert standalone_worker_index("a1b2c3d4e5f6", 1) == standalone_worker_index("a1b2c3d4e5f6", 1)
    for host in CONTAINER_HOSTS:
        assert 1000 <= standalone_worker_index(host, 1) < 1000 + 1_000_000
    # a runner numbers its workers 0..workers-1: a standalone index never collides with them
    assert standalone_worker_index("x", 0) >= 1000


def test_defaults_to_this_host_and_process():
    assert standalone_worker_index() == standalone_worker_index(socket.gethostname(), os.getpid())
    assert standalone_worker_index() != standalone_worker_index(socket.gethostname(),
                                                                os.getpid() + 1)


def test_two_container_replicas_sample_different_points():
    """The behaviour the index is for: the same study seed, two replicas, different draws."""
    import optuna

    draws = []
    for host in CONTAINER_HOSTS[:2]:
        sampler = make_sampler(SamplerSettings(), seed=42,  # TPE: its start-up draws
                               worker_index=standalone_worker_index(host, 1))
        study = optuna.create_study(sampler=sampler)
        points = []
        for _ in range(5):
            trial = study.ask()
            points.append((trial.suggest_int("fast", 3, 30), trial.suggest_int("slow", 10, 80)))
            study.tell(trial, 0.0)
        draws.append(points)
    assert draws[0] != draws[1]


def test_the_cli_worker_seeds_from_host_and_pid_unless_told(monkeypatch, capsys):
    """``research-lab optimize worker`` in two containers (pid 1 each, other host names) passes
    different seed offsets; ``--worker-index`` still wins."""
    import research_lab.core.optimize.worker as worker
    from research_lab.cli import main

    seen = []

    def fake_serve(url, *, heartbeat, worker_index, idle_exit_s):
        seen.append(worker_index)
        return 0

    monkeypatch.setattr(worker, "serve_studies", fake_serve)
    monkeypatch.setattr(os, "getpid", lambda: 1)
    for host in CONTAINER_HOSTS[:2]:
        monkeypatch.setattr(socket, "gethostname", lambda host=host: host)
        assert main(["optimize", "worker", "--idle-exit", "0"]) == 0
    assert main(["optimize", "worker", "--idle-exit", "0", "--worker-index", "3"]) == 0
    assert len(set(seen[:2])) == 2 and min(seen[:2]) >= 1000, seen
    assert seen[2] == 3
