"""A test that gets a PostgreSQL database without the `postgres` marker fails."""

import pytest

from research_lab_tests import conftest


class _Item:
    nodeid = "x.py::test_unmarked"

    def __init__(self, marked):
        self.marked = marked

    def get_closest_marker(self, name):
        return object() if self.marked and name == "postgres" else None


def test_an_unmarked_test_asking_for_postgresql_fails(monkeypatch):
    monkeypatch.setattr(conftest, "_CURRENT", [_Item(marked=False)])
    with pytest.raises(pytest.fail.Exception, match="not marked @pytest.mark.postgres"):
        conftest._require_postgres_marker()


def test_a_marked_test_may_ask_for_postgresql(monkeypatch):
    monkeypatch.setattr(conftest, "_CURRENT", [_Item(marked=True)])
    conftest._require_postgres_marker()  # no failure
