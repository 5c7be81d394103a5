"""Run one step of a computation with a hard wall-clock deadline (used by method "auto").

:func:`call_with_deadline` runs ``fn()`` in a child process forked from this one and waits at
most ``seconds`` for its answer; when the time is up the child is terminated and the call
returns a :class:`StepOutcome` with ``status="time_limit"`` and no value.

Why a process and not the solvers' own time limits: of the three solver families the Lipschitz
methods use, Clarabel and HiGHS accept a time limit but CVXOPT (through PICOS) does not, and an
iteration cap is no time limit (the cost of one CVXOPT iteration varies by orders of magnitude
between relaxations, and between the "chol" and the "ldl" KKT solver it falls back to). A step
also spends time outside the solver: building the relaxation, the other side's retry after a
failure, the a-posteriori certificate check. Terminating a forked worker bounds all of it, for
every solver, and costs little (measured: about 10-30 ms to fork and collect a worker from a
process with numpy, scipy and PICOS loaded; the child shares the parent's memory copy-on-write,
so the network and the gradient POPs built before the fork are not copied or pickled). It also
isolates the caller from a solver that aborts the process (Clarabel does on a failed
allocation) and, with ``memory`` set, from one that would exhaust the machine's memory: the
child's address space is capped (``memory`` bytes beyond what it inherits), so it fails with a
``MemoryError`` instead of waking the kernel's out-of-memory killer.

A stopped step gives no value at all: whatever the child computed is discarded, so no partial,
uncertified number can leak out. Where ``fork`` is not available (Windows; macOS, where forking a
process that has used system frameworks is unsafe) the step runs in this process and the
deadline is only checked after it (``StepOutcome.isolated`` is False).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import sys
import time
import traceback
import warnings
from dataclasses import dataclass
from typing import Any, Callable

from polylip.isolate import die_with_parent, limit_memory

__all__ = ["StepOutcome", "call_with_deadline", "fork_available"]

log = logging.getLogger(__name__)

#: Seconds allowed for a terminated worker to exit (SIGTERM) before it is killed (SIGKILL).
TERMINATE_GRACE = 1.0


@dataclass(frozen=True)
class StepOutcome:
    """What :func:`call_with_deadline` returns.

    ``status``: "done" (``value`` holds ``fn()``'s return value), "time_limit" (stopped at the
    deadline, no value), "error" (``fn`` raised: ``error`` is the exception, re-created in this
    process when it came from the worker), or "died" (the worker exited without an answer,
    e.g. killed by a signal or aborted by a solver; ``message`` says how).
    """

    status: str
    value: Any = None
    error: BaseException | None = None
    message: str = ""
    seconds: float = 0.0
    isolated: bool = True


def fork_available() -> bool:
    """Whether steps can run in a forked worker here (not in a daemonic process, which may not
    have children)."""
    return (sys.platform.startswith("linux") and "fork" in multiprocessing.get_all_start_methods()
            and not multiprocessing.current_process().daemon)


def _rebuild_error(kind: str, text: str, trace: str, exc_type: type | None):
    """The child's exception as an exception of this process (same class when possible)."""
    for cls in (exc_type.__mro__ if exc_type is not None else ()):
        if cls in (BaseException, object):
            break
        try:  # the class itself, else its first base taking a message (e.g. MemoryError)
            err = cls(text)
            err.worker_traceback = trace  # type: ignore[attr-defined]
            return err
        except Exception:  # noqa: BLE001 - classes with other constructor signatures
            continue
    from polylip.errors import PolylipError

    err = PolylipError(f"{kind}: {text}")
    err.worker_traceback = trace  # type: ignore[attr-defined]
    return err


def _worker(conn, fn, memory, parent):
    die_with_parent(parent)  # a caller killed mid-step takes its worker with it
    limit_memory(memory)
    try:
        value = fn()
    except BaseException as exc:  # noqa: BLE001 - everything is reported to the parent
        cls = type(exc)
        try:
            conn.send(("error", cls, f"{cls.__module__}.{cls.__qualname__}", str(exc),
                       traceback.format_exc()))
        except Exception:  # noqa: BLE001 - the class itself may not pickle
            conn.send(("error", None, f"{cls.__module__}.{cls.__qualname__}", str(exc),
                       traceback.format_exc()))
        finally:
            conn.close()
        return
    try:
        conn.send(("done", value))
    except Exception as exc:  # noqa: BLE001 - an unpicklable value is a bug: say so
        conn.send(("error", None, "pickling", f"cannot return the result: {exc}", ""))
    conn.close()


def _stop(proc) -> None:
    if proc.is_alive():
        proc.terminate()
        proc.join(TERMINATE_GRACE)
    if proc.is_alive():  # pragma: no cover - a child ignoring SIGTERM
        proc.kill()
        proc.join(TERMINATE_GRACE)


def call_with_deadline(fn: Callable[[], Any], seconds: float, *, memory: int | None = None,
                       isolate: bool = True) -> StepOutcome:
    """Run ``fn()`` with a hard deadline of ``seconds`` (wall clock).

    Parameters
    ----------
    fn : callable
        Called without arguments in a forked worker; its return value must pickle.
    seconds : float
        Time allowed; at most zero stops at once (the step is not started).
    memory : int, optional
        Bytes the worker may map beyond what this process has mapped when it forks (its
        ``RLIMIT_AS`` is set to their sum): an allocation past it raises ``MemoryError`` in
        the worker (reported as ``status="error"``).
    isolate : bool
        False runs ``fn`` in this process (no hard deadline), as on platforms without fork.

    Returns
    -------
    StepOutcome

    Examples
    --------
    >>> import time
    >>> call_with_deadline(lambda: 6 * 7, 10.0).value
    42
    >>> call_with_deadline(lambda: time.sleep(5), 0.2).status
    'time_limit'
    """
    t0 = time.perf_counter()
    if seconds <= 0:
        return StepOutcome("time_limit", message="no time left", isolated=False)
    if not isolate or not fork_available():
        try:
            value = fn()
        except Exception as exc:  # noqa: BLE001 - reported like a worker's error
            return StepOutcome("error", error=exc, message=str(exc),
                               seconds=time.perf_counter() - t0, isolated=False)
        dt = time.perf_counter() - t0
        return StepOutcome("done", value=value, seconds=dt, isolated=False)
    ctx = multiprocessing.get_context("fork")
    recv, send = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_worker, args=(send, fn, memory, os.getpid()), daemon=True)
    try:
        with warnings.catch_warnings():
            # Python >= 3.12 warns when a process with threads (BLAS pools) forks: the child
            # runs only numerical code and polylip's own, with logging's locks re-created at
            # fork; a child that hung would be stopped at the deadline, giving no value.
            warnings.simplefilter("ignore", DeprecationWarning)
            proc.start()
        send.close()
        remaining = seconds - (time.perf_counter() - t0)
        if not recv.poll(max(0.0, remaining)):
            _stop(proc)
            dt = time.perf_counter() - t0
            log.info("step stopped at its deadline after %.2f s", dt)
            return StepOutcome("time_limit", message=f"stopped after {dt:.2f} s", seconds=dt)
        try:
            msg = recv.recv()
        except (EOFError, OSError):
            proc.join(TERMINATE_GRACE)
            code = proc.exitcode
            _stop(proc)
            how = (f"signal {-code}" if code is not None and code < 0 else f"exit code {code}")
            return StepOutcome("died", message=f"the worker process ended without an answer "
                                               f"({how})", seconds=time.perf_counter() - t0)
        proc.join(TERMINATE_GRACE)
        dt = time.perf_counter() - t0
        if msg[0] == "done":
            return StepOutcome("done", value=msg[1], seconds=dt)
        _, cls, kind, text, trace = msg
        return StepOutcome("error", error=_rebuild_error(kind, text, trace, cls),
                           message=f"{kind}: {text}", seconds=dt)
    finally:
        _stop(proc)
        recv.close()
