"""The runtime: forked children with capped memory, and steps with a hard deadline.

Every process polylip forks goes through this module (one place for forking, memory caps and
deadlines):

* :func:`run_forked` runs a function in a forked child whose address space is capped. Used by
  the Clarabel backend for large solves: Clarabel aborts the whole process when an allocation
  fails (a Rust abort, not a Python ``MemoryError``), so a relaxation whose factorization needs
  more memory than the machine has would take the caller down with it. Run in a child with
  ``RLIMIT_AS`` set, the same failure kills only the child, and the caller gets a clear error.
  A raw ``os.fork`` is used (not :mod:`multiprocessing`) so that it also works inside a
  daemonic worker, such as a step of Lipschitz method "auto".
* :func:`call_with_deadline` runs one step of a computation with a hard wall-clock deadline
  (see its docstring for why a process and not the solvers' own time limits).

Linux only; elsewhere :func:`fork_supported` / :func:`fork_available` are False and callers run
the function in-process.

Why this module is long: it is the one place for everything that makes a run end and keeps
the machine alive, at the bottom of the layers so every stage can use it: forked children with
capped memory, steps with a hard deadline, the memory limit and its size formats, the
in-process :class:`Deadline` that loops check, and the capture of native solvers' output
(:func:`quiet_native_stdout`). Split, each piece would be a small module importing the others.

Why a process for deadlines, and not the solvers' own time limits::func:`call_with_deadline` runs ``fn()`` in a child process forked from this one and waits at
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
uncertified number can leak out. The one exception is explicit: a caller may hand the child a
:func:`shared_floats` array (created before the fork) where the child posts *finished* values
on the way (the lower-bound search its best points, which the caller measures again; "product"
each finished layer factor, itself a bound), so that a stopped step still leaves those. Where ``fork`` is not available (Windows; macOS, where forking a
process that has used system frameworks is unsafe) the step runs in this process and the
deadline is only checked after it (``StepOutcome.isolated`` is False).

Examples
--------
>>> if fork_supported():
...     assert run_forked(lambda: 6 * 7) == ("done", 42)
"""

from __future__ import annotations

import contextlib
import logging
import mmap
import multiprocessing
import os
import pickle
import sys
import tempfile
import time
import traceback
import warnings
from dataclasses import dataclass
from typing import Any, Callable

from polylip.errors import PolylipError

__all__ = ["quiet_native_stdout", "Deadline", "TimeLimitReached", "time_left", "check_deadline",
           "fork_supported", "run_forked", "mapped_bytes", "limit_memory", "die_with_parent",
           "Background", "StepOutcome", "call_with_deadline", "fork_available", "available_memory",
           "memory_limit", "set_memory_limit", "MemoryLimit", "check_memory", "format_bytes",
           "format_count", "blas_threads", "one_blas_thread", "BLAS_THREADS_ENV",
           "shared_floats",
           "in_deadline_worker"]

log = logging.getLogger(__name__)

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
    return Background(fn, memory).result()


class Background:
    """``fn()`` started now in a forked child, its answer collected later (or never).

    The same child as :func:`run_forked`'s (capped memory, dies with this process), for work
    that can go on while this process does something else: the top-form SDP of the exact faces
    (:mod:`polylip.solve.certificate_rational`) runs on the second core while the float
    repairs run here. :meth:`result` waits (at most ``timeout`` seconds: then
    ``("time_limit", None)`` and the child is stopped), :meth:`cancel` stops it unheard.
    Linux only (:func:`fork_supported`); a caller elsewhere calls ``fn`` itself.

    Examples
    --------
    >>> if fork_supported():
    ...     job = Background(lambda: 6 * 7)
    ...     assert job.result(timeout=10.0) == ("done", 42)
    """

    def __init__(self, fn: Callable[[], Any], memory: int | None = None):
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
        self._pid, self._fd, self._answer = pid, read_fd, None

    def result(self, timeout: float | None = None) -> tuple[str, Any]:
        """The child's answer: ``("done", value)``, ``("error", exception)``, ``("died",
        message)``, or ``("time_limit", None)`` when none came within ``timeout`` seconds (the
        child is then stopped). Asked again, the same answer."""
        if self._answer is not None:
            return self._answer
        import select

        end = None if timeout is None else time.perf_counter() + max(0.0, float(timeout))
        chunks = []
        while True:
            wait = None if end is None else max(0.0, end - time.perf_counter())
            ready, _, _ = select.select([self._fd], [], [], wait)
            if not ready:
                self.cancel()
                self._answer = ("time_limit", None)
                return self._answer
            chunk = os.read(self._fd, 1 << 20)
            if not chunk:
                break
            chunks.append(chunk)
        os.close(self._fd)
        self._fd = None
        _, status = os.waitpid(self._pid, 0)
        self._pid = None
        if chunks:
            self._answer = pickle.loads(b"".join(chunks))
        elif os.WIFSIGNALED(status):
            self._answer = ("died", f"killed by signal {os.WTERMSIG(status)}")
        else:
            self._answer = ("died", f"exit code {os.WEXITSTATUS(status)}")
        return self._answer

    def cancel(self) -> None:
        """Stop the child (if it still runs) and forget its answer."""
        import signal

        if self._pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self._pid, signal.SIGKILL)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(self._pid, 0)
            self._pid = None
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        if self._answer is None:
            self._answer = ("died", "cancelled")

    def __del__(self):  # a job nobody asked about is not left running (nor as a zombie)
        with contextlib.suppress(Exception):
            self.cancel()


# ---------------------------------------------------------------------------------------------
# steps with a deadline
# ---------------------------------------------------------------------------------------------
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
    err = PolylipError(f"{kind}: {text}")
    err.worker_traceback = trace  # type: ignore[attr-defined]
    return err


_in_worker: list = []  # set in a worker of call_with_deadline (see in_deadline_worker)


def in_deadline_worker() -> bool:
    """Whether this process is a worker of :func:`call_with_deadline`: whatever it runs is
    stopped at that call's deadline (it cannot fork a worker of its own: it is daemonic)."""
    return bool(_in_worker)


def _worker(conn, fn, memory, parent):
    _in_worker.append(True)
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
        # a wait beyond ~30 years is no limit (a budget of 1e308 s overflowed the selector)
        if not recv.poll(max(0.0, remaining) if remaining < 1e9 else None):
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


# ---------------------------------------------------------------------------------------------
# the memory limit: sizes are estimated before large arrays are built, and refused past it
# ---------------------------------------------------------------------------------------------
#: Default memory limit, as a fraction of :func:`available_memory`.
MEMORY_FRACTION = 0.5
#: Environment variable overriding the default (bytes, or a size such as "8G" or "512 MiB").
MEMORY_ENV = "POLYLIP_MEMORY_LIMIT"
_UNITS = {"": 1, "b": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}
_memory_setting: int | None = None


_machine_memory: list = []  # physical memory and cgroup limit, read once


def _machine() -> list[int]:
    if not _machine_memory:
        found = []
        try:
            found.append(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
        except (ValueError, OSError, AttributeError):  # pragma: no cover - non-POSIX
            pass
        for path in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
            try:
                with open(path) as fh:
                    text = fh.read().strip()
                if text.isdigit() and int(text) < 1 << 60:  # "max" or a huge number: no limit
                    found.append(int(text))
            except (OSError, ValueError):
                pass
        _machine_memory.append(found)
    return list(_machine_memory[0])


def available_memory() -> int:
    """Memory this process may use, in bytes: the physical memory, capped by a cgroup (container)
    limit and by an address-space limit (``RLIMIT_AS``) when there are any; 8 GiB if unknown.
    (The first two are read once per process, the address-space limit at every call.)"""
    candidates = _machine()
    try:
        import resource

        soft = resource.getrlimit(resource.RLIMIT_AS)[0]
        if soft != resource.RLIM_INFINITY:
            candidates.append(int(soft))
    except (ImportError, ValueError, OSError):  # pragma: no cover - platform dependent
        pass
    positive = [c for c in candidates if c > 0]
    return min(positive) if positive else 8 << 30


def _parse_bytes(value) -> int:
    """Bytes from an int, a float or a string such as "8G", "1.5 GiB", "512MB" (binary units)."""
    if isinstance(value, bool):
        raise TypeError("a memory size must be a number of bytes or a string such as '8G'")
    if isinstance(value, (int, float)):
        nbytes = int(value)
    elif isinstance(value, str):
        text = value.strip().lower().replace(" ", "")
        for suffix in ("ib", "b"):
            if text.endswith(suffix) and text[:-len(suffix)][-1:].isalpha():
                text = text[:-len(suffix)]
                break
        unit = text[-1:] if text[-1:].isalpha() else ""
        try:
            nbytes = int(float(text[:len(text) - len(unit)]) * _UNITS[unit])
        except (KeyError, ValueError):
            raise ValueError(f"cannot read the memory size {value!r} (use bytes, or e.g. "
                             "'8G', '512 MiB')") from None
    else:
        raise TypeError("a memory size must be a number of bytes or a string such as '8G'")
    if nbytes <= 0:
        raise ValueError(f"a memory limit must be positive, not {value!r}")
    return nbytes


def memory_limit() -> int:
    """Bytes one structure polylip builds may take before it is refused, unbuilt.

    Before enumerating a monomial basis, assembling a relaxation or expanding a product of a
    sympy expression, polylip estimates the memory it needs and raises a
    :class:`~polylip.errors.PolylipError` subclass naming the size when the estimate exceeds
    this limit (instead of dying with a raw ``MemoryError``, or waking the kernel's
    out-of-memory killer). The limit is, by priority: the value given to
    :func:`set_memory_limit` (or a :class:`MemoryLimit` block), the environment variable
    ``POLYLIP_MEMORY_LIMIT``, else ``MEMORY_FRACTION`` (half) of :func:`available_memory`.

    Examples
    --------
    >>> with MemoryLimit("1 GiB"):
    ...     memory_limit()
    1073741824
    """
    if _memory_setting is not None:
        return _memory_setting
    env = os.environ.get(MEMORY_ENV)
    if env:
        try:
            return _parse_bytes(env)
        except (TypeError, ValueError):
            log.warning("ignoring %s=%r: not a memory size", MEMORY_ENV, env)
    return int(MEMORY_FRACTION * available_memory())


def set_memory_limit(limit) -> int | None:
    """Set the memory limit (bytes, or a string such as "8G"); None restores the default.
    Returns the previous setting (None if it was the default). Process-wide."""
    global _memory_setting
    previous = _memory_setting
    _memory_setting = None if limit is None else _parse_bytes(limit)
    return previous


class MemoryLimit:
    """``with MemoryLimit("2G"): ...`` sets the memory limit inside the block (process-wide,
    not per thread) and restores the previous one after it."""

    def __init__(self, limit):
        self.limit = None if limit is None else _parse_bytes(limit)
        self._previous: int | None = None

    def __enter__(self) -> "MemoryLimit":
        self._previous = set_memory_limit(self.limit)
        return self

    def __exit__(self, *exc) -> None:
        set_memory_limit(self._previous)


def format_bytes(nbytes) -> str:
    """A byte count for a message: ``"3.2 GiB"``, ``"410.0 MiB"``, ``"2.8e+12 GiB"``.

    >>> format_bytes(3 << 30), format_bytes(5 << 20), format_bytes(10**30)
    ('3.0 GiB', '5.0 MiB', '9.3e+20 GiB')
    """
    nbytes = float(nbytes)
    if nbytes < 1 << 30:
        return f"{nbytes / (1 << 20):.1f} MiB"
    gib = nbytes / (1 << 30)
    return f"{gib:,.1f} GiB" if gib < 1e6 else f"{gib:.1e} GiB"


def format_count(n) -> str:
    """A count for a message: ``"75,394,027,566"``, or ``"2.84e+21"`` past 10^15."""
    return f"{int(n):,}" if n < 10**15 else f"{float(n):.2e}"


def check_memory(nbytes, what: str, hint: str = "", error: type = PolylipError) -> None:
    """Raise ``error`` when building ``what`` would need ``nbytes`` (an estimate) beyond
    :func:`memory_limit`; the message names both sizes, then ``hint`` (what to try instead)."""
    limit = memory_limit()
    if nbytes > limit:
        raise error(f"{what} would need about {format_bytes(nbytes)}, more than the memory limit "
                    f"of {format_bytes(limit)} (polylip.runtime.set_memory_limit or "
                    f"{MEMORY_ENV} sets it)" + (f"; {hint}" if hint else ""))


# ---------------------------------------------------------------------------------------------
# native solvers that print
# ---------------------------------------------------------------------------------------------
def _flush_c_stdio() -> None:
    """Flush the C library's stdio buffers (``fflush(NULL)``), so what native code printed
    reaches the file descriptor it was printed to before that descriptor is switched."""
    try:
        import ctypes

        ctypes.CDLL(None).fflush(None)
    except (OSError, AttributeError, TypeError):  # pragma: no cover - no C library to call
        pass


@contextlib.contextmanager
def quiet_native_stdout(enabled: bool = True, what: str = "HiGHS"):
    """Inside the block, what native code writes to the standard output (file descriptor 1)
    goes to a temporary file, logged at DEBUG level afterwards, instead of the user's terminal.

    Why at the file-descriptor level: HiGHS prints some lines with C ``printf`` whatever its
    ``output_flag`` says (HiGHS 1.x: ``HighsMipSolverData::transformNewIntegerFeasibleSolution
    tmpSolver.run();``, printed from a Python run of method "milp"; HiGHS issue 2783), which
    neither scipy's ``disp=False`` nor Python's ``sys.stdout`` redirection can reach. Every
    place polylip calls HiGHS (scipy's ``linprog``/``milp``, ``highspy``) runs in this block.
    The C library's buffers are flushed before the descriptor is restored, so a buffered line
    cannot leak out later. Process-wide: another thread printing meanwhile is logged too.
    ``enabled=False`` (a verbose solve: the solver's log is wanted) does nothing.

    Examples
    --------
    >>> with quiet_native_stdout():
    ...     _ = os.write(1, b"not shown")
    """
    if not enabled:
        yield
        return
    try:
        sys.stdout.flush()
    except (AttributeError, OSError, ValueError):
        pass
    _flush_c_stdio()
    try:
        saved = os.dup(1)
    except OSError:  # no standard output to protect
        yield
        return
    sink = tempfile.TemporaryFile()
    try:
        os.dup2(sink.fileno(), 1)
        yield
    finally:
        _flush_c_stdio()
        os.dup2(saved, 1)
        os.close(saved)
        try:
            sink.seek(0)
            text = sink.read(1 << 16).decode("utf-8", "replace").strip()
        except OSError:  # pragma: no cover
            text = ""
        sink.close()
        if text:
            log.debug("%s printed: %s", what, text)


# ---------------------------------------------------------------------------------------------
# a deadline for in-process loops
# ---------------------------------------------------------------------------------------------
_deadline: list = []  # the active deadlines (time.perf_counter values), innermost last


class TimeLimitReached(PolylipError):
    """A loop that checks :func:`check_deadline` found the time of the enclosing
    :class:`Deadline` spent."""


class Deadline:
    """``with Deadline(seconds): ...``: loops of polylip that run in this process (the
    elimination game of a chordal extension, ...) check it (:func:`check_deadline`) and stop with
    :class:`TimeLimitReached`. Nested blocks keep the earlier deadline; ``None`` sets none.
    Process-wide (not per thread). ``POP.solve(time_limit=...)`` runs in one.

    Examples
    --------
    >>> with Deadline(60):
    ...     0 < time_left() <= 60
    True
    >>> time_left() is None
    True
    """

    def __init__(self, seconds: float | None):
        self.seconds = seconds

    def __enter__(self) -> "Deadline":
        end = None if self.seconds is None else time.perf_counter() + float(self.seconds)
        if _deadline and _deadline[-1] is not None:
            end = _deadline[-1] if end is None else min(end, _deadline[-1])
        _deadline.append(end)
        return self

    def __exit__(self, *exc) -> None:
        _deadline.pop()


def time_left() -> float | None:
    """Seconds left before the innermost :class:`Deadline`, None when there is none."""
    if not _deadline or _deadline[-1] is None:
        return None
    return _deadline[-1] - time.perf_counter()


def check_deadline(what: str) -> None:
    """Raise :class:`TimeLimitReached` (naming ``what`` was running) past the deadline."""
    left = time_left()
    if left is not None and left <= 0:
        raise TimeLimitReached(f"the time limit was reached while {what}")


# ---------------------------------------------------------------------------------------------
# BLAS threads
# ---------------------------------------------------------------------------------------------
#: Environment variable: the BLAS threads inside :func:`blas_threads` (default 1; 0 leaves the
#: process's own setting).
BLAS_THREADS_ENV = "POLYLIP_BLAS_THREADS"
_blas_controller: list = []  # one threadpoolctl controller a process (built at first use)


def blas_threads():
    """A context in which BLAS (OpenBLAS, MKL) uses :data:`BLAS_THREADS_ENV` threads, default 1.

    Why one by default: OpenBLAS's threads wait for each other by spinning, and on a machine
    whose cores are busy a multithreaded LAPACK call is many times slower than a sequential
    one. Measured on the 2-core machines of this project at load 7: the largest eigenvalue of a
    500 x 500 Gram matrix (``scipy.linalg.eigvalsh``, what "product" computes for l_2) took
    8.3 s with OpenBLAS's two threads and 0.04 s with one; "product" on the l_2 784-1000-1000-
    1000-10 MLP 9.1 s, so ``budget=2`` returned after 11.5 s. With one thread a call gives the
    same bits whatever the load (summation order), which deterministic mode relies on; an idle
    many-core machine loses at most the parallel speed-up of the dense products (set the
    variable to 0 or a count). Nothing happens with an invalid value (logged).

    Examples
    --------
    >>> with blas_threads():
    ...     pass
    """
    raw = os.environ.get(BLAS_THREADS_ENV, "1").strip()
    try:
        count = int(raw)
        if count < 0:
            raise ValueError
    except ValueError:
        log.warning("%s=%r is not a non-negative integer; BLAS threads left unchanged",
                    BLAS_THREADS_ENV, raw)
        return contextlib.nullcontext()
    if count == 0:
        return contextlib.nullcontext()
    controller = _controller()
    if controller is None:  # pragma: no cover - threadpoolctl is a dependency
        return contextlib.nullcontext()
    return controller.limit(limits=count, user_api="blas")


def _controller():
    """The process's threadpoolctl controller (building one scans the loaded libraries: 35 ms
    at rest, 0.17 s at load 11; its ``limit()`` takes 35 us), None without threadpoolctl."""
    if not _blas_controller:
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:  # pragma: no cover - threadpoolctl is a dependency
            _blas_controller.append(None)
        else:
            _blas_controller.append(ThreadpoolController())
    return _blas_controller[0]


def one_blas_thread():
    """A context with one BLAS thread, whatever :data:`BLAS_THREADS_ENV` says: for the inner
    loops whose dense products are small and many (the LipSDP / ECLipsE layer loops, the
    lower-bound search, the PDHG iterations, which run their own threads), where OpenBLAS's
    spinning threads cost more than they give on a busy machine (a 264 x 264 Cholesky: 0.6 s
    with two threads at load 5, 1.5 ms with one; a dot of 85,120 doubles 5.4 ms against
    0.023 ms at load 6).

    Examples
    --------
    >>> with one_blas_thread():
    ...     pass
    """
    controller = _controller()
    if controller is None:  # pragma: no cover - threadpoolctl is a dependency
        return contextlib.nullcontext()
    return controller.limit(limits=1, user_api="blas")


def shared_floats(shape, fill: float = 0.0) -> np.ndarray:
    """A float64 array in an anonymous shared mapping: a child forked after it is created
    (:func:`call_with_deadline`) writes to the same memory, and the writes outlive the child
    when it is stopped. Only finished values should be posted there (see the module text);
    one float64 is written at once, a row of them is not (a reader must accept a torn row).

    >>> a = shared_floats((2, 3), fill=float("inf"))
    >>> a.shape, float(a.min())
    ((2, 3), inf)
    """
    import numpy as np  # numpy only here: the rest of this module does without it

    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    count = int(np.prod(shape)) if shape else 1
    buf = mmap.mmap(-1, 8 * max(1, count))
    arr = np.frombuffer(buf, dtype=np.float64, count=count).reshape(shape)
    arr[...] = fill
    return arr
