import pytest

from research_lab.core.tracking import tags as T


@pytest.mark.parametrize("old, new", [
    ("research", "testing"), ("testing", "production"), ("production", "archived"),
    ("testing", "research"), ("production", "testing"), ("research", "archived"),
    ("archived", "research"), (None, "testing"), ("testing", "testing"),
])
def test_allowed_transitions(old, new):
    T.check_transition(old, new)


@pytest.mark.parametrize("old, new, fragment", [
    ("research", "production", "allowed: testing, archived"),
    ("archived", "production", "allowed: research"),
    ("archived", "testing", "cannot go from 'archived' to 'testing'"),
    ("research", "shipped", "'shipped' is not one of research, testing, production, archived"),
])
def test_refused_transitions_say_what_is_allowed(old, new, fragment):
    with pytest.raises(T.StatusError) as err:
        T.check_transition(old, new)
    assert fragment in str(err.value)


def test_lineage_tags_skip_unknowns_and_expose_a_git_sha_to_mlflow():
    sha = "a" * 40
    tags = T.Lineage(dagster_run_id="r1", partition_key="2024-01-02|ACME",
                     code_version=sha + "-dirty", data_version="abc", seed=7).tags()
    assert tags == {"dagster.run_id": "r1", "dagster.partition_key": "2024-01-02|ACME",
                    "code_version": sha + "-dirty", "data_version": "abc", "seed": "7",
                    "mlflow.source.git.commit": sha}
    assert T.Lineage(code_version="research_lab==0.1.0").tags() == {
        "code_version": "research_lab==0.1.0"}


def test_code_version_is_the_git_sha_or_the_override(monkeypatch):
    T.code_version.cache_clear()
    monkeypatch.setenv("RESEARCH_LAB_CODE_VERSION", "v9")
    assert T.code_version() == "v9"
    T.code_version.cache_clear()
    monkeypatch.delenv("RESEARCH_LAB_CODE_VERSION")
    version = T.code_version()
    T.code_version.cache_clear()
    sha = version.removesuffix("-dirty")
    assert (len(sha) == 40 and int(sha, 16) >= 0) or version.startswith("research_lab==")
