"""What the subcommands share: argument types that refuse bad values at parse time, reading a
problem file, checking a network file, and the progress display.

Every type below raises :class:`argparse.ArgumentTypeError`, so a bad value such as
``--budget inf``, ``--budget -1`` or ``--seed -3`` is a one-line usage error (exit code 2) before
anything runs.
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import re
import stat
import sys
import time

from polylip.errors import ModelError

log = logging.getLogger("polylip.cli")

#: Problem files larger than this are refused from their size, before a byte is read (the text
#: format's own limit, :data:`polylip.model.textformat.MAX_FILE_BYTES`, when it has one).
MAX_PROBLEM_BYTES = 10 * 2**20

#: Seconds between two progress lines when they are logged (``-v`` without a terminal).
PROGRESS_EVERY = 2.0

#: tqdm's bar without the rate (stages are few and uneven, a rate would mislead).
BAR_FORMAT = "{desc}: {percentage:3.0f}%|{bar}| {n}/{total} [{elapsed}]"

#: Longest message printed on stderr; the rest is cut (a message is one line, not a dump).
MAX_MESSAGE = 2000


def one_line(text) -> str:
    """``text`` on one line (newlines folded), at most :data:`MAX_MESSAGE` characters."""
    text = re.sub(r"\s*\n\s*", " ", str(text)).strip()
    return text if len(text) <= MAX_MESSAGE else text[:MAX_MESSAGE] + " [...]"


def say(line) -> None:
    """Print one line on stderr (never raises: a closed stderr has nothing left to tell)."""
    try:
        print(one_line(line), file=sys.stderr, flush=True)
    except (OSError, ValueError):
        pass


# ------------------------------------------------------------------ argument types
def _number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def seconds(text: str) -> float:
    """A positive, finite number of seconds."""
    value = _number(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {text!r}")
    return value


def seconds_or_none(text: str) -> float | None:
    """Like :func:`seconds`, or ``none`` for no limit."""
    if text.strip().lower() == "none":
        return None
    return seconds(text)


def positive_float(text: str) -> float:
    value = _number(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


def _integer(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None


def positive_int(text: str) -> int:
    value = _integer(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def order_or_auto(text: str) -> int | str:
    """A relaxation order: a positive integer, or "auto" (raise it until the bound is certified,
    :mod:`polylip.relax.hierarchy`)."""
    if text.strip().lower() == "auto":
        return "auto"
    return positive_int(text)


def non_negative_int(text: str) -> int:
    value = _integer(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}")
    return value


# ------------------------------------------------------------------ input files
def _max_problem_bytes() -> int:
    # lazy: the text format (and sympy behind the POP) is needed by solve/structure only
    from polylip.model import textformat

    return int(getattr(textformat, "MAX_FILE_BYTES", MAX_PROBLEM_BYTES))


def load_pop(path: str):
    """The :class:`~polylip.model.pop.POP` of a problem file; :class:`ModelError` for a file
    that is too large (refused from its size, before reading it), unreadable, not UTF-8 text
    or not in the format."""
    # lazy: the text format (and sympy behind the POP) is needed by solve/structure only
    from polylip.model.textformat import load_problem

    limit = _max_problem_bytes()
    try:
        info = os.stat(path)
    except (OSError, ValueError):
        info = None  # missing or unreadable: load_problem says so, in its words
    if info is not None and stat.S_ISREG(info.st_mode) and info.st_size > limit:
        raise ModelError(f"problem file {path!r} has {info.st_size:,} bytes, more than the limit "
                         f"of {limit:,}; refused before reading it")
    return load_problem(path)


def check_model_file(path: str) -> None:
    """Refuse, before any loader runs, a network file that is missing, a directory or not a
    regular file (a device such as /dev/zero, a pipe): the loaders seek in it or read it all."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise ModelError(f"no such model file: {path}") from None
    except (OSError, ValueError) as exc:
        raise ModelError(f"cannot read the model file {path}: "
                         f"{getattr(exc, 'strerror', None) or exc}") from None
    if stat.S_ISDIR(info.st_mode):
        raise ModelError(f"cannot read the model file {path}: it is a directory")
    if not stat.S_ISREG(info.st_mode):
        raise ModelError(f"cannot read the model file {path}: not a regular file")


# ------------------------------------------------------------------ progress
def _tqdm():
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm


class Progress:
    """``progress(stage, done, total)`` callback of :func:`polylip.nn.estimate.lipschitz`.

    On a terminal, with the optional package ``tqdm`` (extra ``cli``), one transient bar on
    stderr, labelled with the current stage and erased at the end of the run: it never stays
    behind a result or an error message.
    Otherwise a line every :data:`PROGRESS_EVERY` seconds at INFO level of the ``polylip.cli``
    logger, so only ``-v`` shows it. Call :meth:`close` when the run ends.
    """

    def __init__(self, stream=None, bars: bool | None = None):
        self.stream = sys.stderr if stream is None else stream
        tqdm = _tqdm()
        if bars is None:
            isatty = getattr(self.stream, "isatty", None)
            bars = bool(isatty and isatty())
        self._tqdm = tqdm if bars else None
        self._bar = None
        self._stage = None
        self._last = time.perf_counter()

    def __call__(self, stage: str, done: int, total: int) -> None:
        if self._tqdm is not None:
            if self._bar is None:
                self._bar = self._tqdm(total=total, leave=False, file=self.stream,
                                       dynamic_ncols=True, bar_format=BAR_FORMAT)
            if stage != self._stage:  # one bar, re-labelled for each stage
                self._bar.reset(total=total)
                self._bar.set_description_str(f"polylip: {stage}", refresh=False)
                self._stage = stage
            elif self._bar.total != total:
                self._bar.total = total
            self._bar.n = done
            self._bar.refresh()
            return
        now = time.perf_counter()
        if now - self._last >= PROGRESS_EVERY or (done == total and total > 1
                                                  and now - self._last > 1):
            log.info("%s %d/%d", stage, done, total)
            self._last = now

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
            self._stage = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False
