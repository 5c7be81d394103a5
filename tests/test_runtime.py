"""polylip.runtime's forked children: run_forked and Background (Linux only)."""

import os
import time

import pytest

from polylip.runtime import Background, fork_supported, run_forked

pytestmark = pytest.mark.skipif(not fork_supported(), reason="fork is Linux only here")


def test_run_forked_answers_raises_and_dies():
    assert run_forked(lambda: 6 * 7) == ("done", 42)
    how, exc = run_forked(lambda: 1 / 0)
    assert how == "error" and isinstance(exc, ZeroDivisionError)
    assert run_forked(os.abort)[0] == "died"


def test_background_returns_a_large_answer_once():
    job = Background(lambda: bytes(3_000_000))          # far more than a pipe's buffer
    how, value = job.result(timeout=60.0)
    assert how == "done" and len(value) == 3_000_000
    assert job.result() == (how, value)                  # asked again: the same answer


def test_background_stopped_at_its_timeout_and_when_cancelled():
    job = Background(lambda: time.sleep(30))
    assert job.result(timeout=0.1) == ("time_limit", None)
    job = Background(lambda: time.sleep(30))
    pid = job._pid
    job.cancel()
    assert job.result() == ("died", "cancelled")
    with pytest.raises(ChildProcessError):               # reaped: no zombie is left
        os.waitpid(pid, 0)
