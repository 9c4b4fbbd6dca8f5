import pytest

from research_lab.core.tracking.retry import Backoff, is_transient, retry_call


class FakeMlflowError(Exception):
    def __init__(self, code):
        super().__init__(code)
        self.error_code = code


@pytest.mark.parametrize("exc, transient", [
    (ConnectionRefusedError(), True),
    (TimeoutError(), True),
    (FakeMlflowError("TEMPORARILY_UNAVAILABLE"), True),
    (FakeMlflowError("INTERNAL_ERROR"), True),
    (FakeMlflowError("INVALID_PARAMETER_VALUE"), False),
    (FakeMlflowError("RESOURCE_DOES_NOT_EXIST"), False),
    (FileNotFoundError(), False),
    (ValueError("bad"), False),
])
def test_is_transient(exc, transient):
    assert is_transient(exc) is transient


def test_mlflow_connection_errors_are_transient():
    from mlflow.exceptions import MlflowException

    # what MLflow raises when nothing listens (it wraps the requests error)
    assert is_transient(MlflowException("API request to http://x failed with exception ..."))
    from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE

    assert not is_transient(MlflowException("bad", error_code=INVALID_PARAMETER_VALUE))


def test_retry_backs_off_then_succeeds():
    calls, slept = [], []

    def flaky():
        calls.append(1)
        if len(calls) < 3:
            raise ConnectionResetError("reset")
        return "ok"

    assert retry_call(flaky, Backoff(attempts=3, base=1.0, cap=10), sleep=slept.append) == "ok"
    assert len(calls) == 3
    assert 0.75 <= slept[0] <= 1.25 and 1.5 <= slept[1] <= 2.5  # exponential, with jitter


def test_retry_gives_up_after_attempts_and_never_retries_permanent_errors():
    slept = []
    with pytest.raises(ConnectionError):
        retry_call(lambda: (_ for _ in ()).throw(ConnectionError("down")),
                   Backoff(attempts=4, base=0.1), sleep=slept.append)
    assert len(slept) == 3
    slept.clear()
    with pytest.raises(ValueError):
        retry_call(lambda: (_ for _ in ()).throw(ValueError("bad")), Backoff(attempts=4),
                   sleep=slept.append)
    assert slept == []


def test_backoff_is_capped():
    assert max(Backoff(attempts=10, base=1.0, cap=2.0).delays()) <= 2.5
