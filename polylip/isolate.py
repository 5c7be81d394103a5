"""Run a function in a forked child process whose address space is capped.

Used by the Clarabel backend for large solves: Clarabel aborts the whole process when an
allocation fails (a Rust abort, not a Python ``MemoryError``), so a relaxation whose
factorization needs more memory than the machine has would take the caller down with it.
Run in a child with ``RLIMIT_AS`` set, the same failure kills only the child, and the caller
gets a clear error instead.

A raw ``os.fork`` is used (not :mod:`multiprocessing`) so that it also works inside a daemonic
worker, such as the steps of Lipschitz method "auto" (:mod:`polylip.nn.deadline`). Linux only;
elsewhere :func:`fork_supported` is False and callers run the function in-process.

Examples
--------
>>> if fork_supported():
...     assert run_forked(lambda: 6 * 7) == ("done", 42)
"""

from __future__ import annotations

import os
import pickle
import sys
from typing import Any, Callable

__all__ = ["fork_supported", "run_forked", "mapped_bytes", "limit_memory", "die_with_parent"]


def fork_supported() -> bool:
    """Whether :func:`run_forked` can fork here (Linux)."""
    return sys.platform.startswith("linux") and hasattr(os, "fork")


def mapped_bytes() -> int:
    """Address space this process has mapped (Linux ``/proc/self/statm``), 0 if unknown."""
    try:
        import resource

        with open("/proc/self/statm") as fh:
            pages = int(fh.read().split()[0])
        return pages * resource.getpagesize()
    except (OSError, ValueError, IndexError, ImportError):  # pragma: no cover - non-Linux
        return 0


def limit_memory(memory: int | None) -> None:
    """Let this process map at most ``memory`` bytes beyond what it has mapped now, and never
    more than an address-space limit it already has (``RLIMIT_AS``; Linux). Meant for a forked
    child just after the fork."""
    if memory is None:
        return
    try:
        import resource

        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        cap = mapped_bytes() + int(memory)
        for limit in (soft, hard):
            if limit != resource.RLIM_INFINITY:
                cap = min(cap, limit)
        resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    except (ImportError, ValueError, OSError):  # pragma: no cover - platform dependent
        pass


def die_with_parent(parent_pid: int) -> None:
    """Ask the kernel to kill this (forked) process when its parent dies (Linux
    ``PR_SET_PDEATHSIG``), and exit at once if the parent is already gone.

    Without it, a child of a step that method "auto" stops at its deadline would outlive the
    step and go on using CPU and memory (measured: a Clarabel child of 3-4 GB, still running
    after the benchmark that started it had ended, got another job OOM-killed).
    """
    try:
        import ctypes
        import signal

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, int(signal.SIGKILL), 0, 0, 0)  # 1 = PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # pragma: no cover - not Linux
        pass
    if os.getppid() != parent_pid:  # the parent died before prctl took effect
        os._exit(1)


def run_forked(fn: Callable[[], Any], memory: int | None = None) -> tuple[str, Any]:
    """``fn()`` in a forked child that may map ``memory`` bytes beyond what it inherits (and no
    more than an address-space limit this process already has).

    Returns ``("done", value)``, ``("error", exception)`` (``fn`` raised; re-raised as a
    ``RuntimeError`` with its message if the exception does not pickle) or ``("died", message)``
    (the child ended without an answer: killed by a signal, or aborted by native code).
    The value must pickle.
    """
    read_fd, write_fd = os.pipe()
    parent = os.getpid()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child (coverage does not follow forks)
        code = 0
        try:
            os.close(read_fd)
            die_with_parent(parent)
            # an abort in native code is reported to the parent as "died"; the inherited
            # faulthandler (pytest enables it) would only print the child's stack as noise
            import faulthandler

            faulthandler.disable()
            limit_memory(memory)
            try:
                payload = ("done", fn())
            except BaseException as exc:  # noqa: BLE001 - handed to the parent
                payload = ("error", exc)
            try:
                data = pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL)
            except Exception:  # noqa: BLE001 - an unpicklable value or exception
                data = pickle.dumps(("error", RuntimeError(f"{type(payload[1]).__name__}: "
                                                           f"{payload[1]}")))
            with os.fdopen(write_fd, "wb") as fh:
                fh.write(data)
        except BaseException:  # noqa: BLE001 - never return into the parent's code
            code = 1
        finally:
            os._exit(code)
    os.close(write_fd)
    with os.fdopen(read_fd, "rb") as fh:
        data = fh.read()
    _, status = os.waitpid(pid, 0)
    if data:
        return pickle.loads(data)
    if os.WIFSIGNALED(status):
        return "died", f"killed by signal {os.WTERMSIG(status)}"
    return "died", f"exit code {os.WEXITSTATUS(status)}"
