"""The ``polylip`` command.

Each subcommand lives in its own module of this package and exposes ``register(subparsers,
parents)``, which adds its parser (with ``parents`` for the global flags) and sets ``func`` (a
callable taking the parsed arguments and returning an exit code). :func:`main` dispatches and
turns every failure into one line on stderr and an exit code; it never lets a traceback out
unless ``--debug`` asks for it.

Exit codes
----------
0
    Success: a certified bound (``solve``, ``lipschitz``) or the report (``structure``).
1
    It ran but gave no bound: the solver status is not "optimal" (``solve``), no certified
    upper bound (``lipschitz``), out of memory, or an internal error (a bug: please report it).
2
    Bad input, refused before or while reading it: a bad flag value, an unreadable, binary,
    non-UTF-8 or oversized file, a malformed problem or network, an unknown method or solver,
    a missing optional package.
130
    Interrupted (Ctrl-C).

Global flags (before or after the subcommand): ``-v``/``--verbose`` (INFO logging of polylip,
``-vv`` DEBUG), ``--debug`` (the full traceback of an error, for bug reports), ``--version``.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
import traceback

from polylip import __version__
from polylip.cli.common import one_line, say
from polylip.errors import MissingDependencyError, PolylipError

#: Subcommand modules, in the order they appear in ``polylip --help``.
COMMAND_MODULES = ("solve", "structure", "lipschitz")

EXIT_OK, EXIT_NO_BOUND, EXIT_BAD_INPUT, EXIT_INTERRUPTED = 0, 1, 2, 130


class _Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line (argparse prints the usage first)."""

    def error(self, message):
        say(f"polylip: error: {message} (see '{self.prog} --help')")
        self.exit(EXIT_BAD_INPUT)


def _global_flags(suppress: bool) -> argparse.ArgumentParser:
    """The global flags: on the main parser with their defaults, and on every subparser with
    ``SUPPRESS`` (so ``polylip -v solve F`` and ``polylip solve F -v`` both work, and a flag
    after the subcommand does not reset one given before it)."""
    default = (lambda value: argparse.SUPPRESS) if suppress else (lambda value: value)
    p = _Parser(add_help=False)
    p.add_argument("-v", "--verbose", action="count", default=default(0),
                   dest="verbose_after" if suppress else "verbose",
                   help="log progress (-v: info, -vv: debug)")
    p.add_argument("--debug", action="store_true", default=default(False),
                   help="show the full traceback of an error (for bug reports)")
    return p


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="polylip", parents=[_global_flags(suppress=False)],
        description="Sparse polynomial optimization and certified Lipschitz bounds. Exit "
                    "codes: 0 a certified bound (or the report), 1 no bound (solver status "
                    "not optimal, no upper bound, out of memory, internal error), 2 bad "
                    "input, 130 interrupted.")
    parser.add_argument("--version", action="version", version=f"polylip {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    parents = [_global_flags(suppress=True)]
    for name in COMMAND_MODULES:
        module = importlib.import_module(f"polylip.cli.{name}")
        module.register(sub, parents)
    return parser


# ------------------------------------------------------------------ reporting
def _fail(code: int, line: str, debug: bool) -> int:
    if debug:
        try:
            traceback.print_exc(file=sys.stderr)
        except (OSError, ValueError):
            pass
    say(line)
    return code


def _describe(exc: BaseException) -> str:
    msg = str(exc)
    return f"{type(exc).__name__}: {msg}" if msg else type(exc).__name__


class _Formatter(logging.Formatter):
    def __init__(self, with_name: bool):
        super().__init__()
        self.with_name = with_name

    def format(self, record):
        message = one_line(super().format(record)) if record.exc_info is None else \
            super().format(record)
        name = f"{record.name}: " if self.with_name else ""
        return f"polylip: {record.levelname.lower()}: {name}{message}"


def _logging(verbosity: int) -> logging.Handler:
    """A handler on the ``polylip`` logger writing to the current stderr (removed by
    :func:`main` when it returns, so repeated in-process calls do not stack handlers)."""
    level = {0: logging.WARNING, 1: logging.INFO}.get(verbosity, logging.DEBUG)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_Formatter(with_name=verbosity >= 2))
    handler.setLevel(level)
    logger = logging.getLogger("polylip")
    logger.addHandler(handler)
    logger.setLevel(level)
    return handler


def _quiet_broken_pipe() -> None:
    """stdout went to a reader that stopped (``polylip ... | head``): point it at /dev/null so
    the interpreter's final flush does not complain."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # no real file descriptor (captured output)
        pass


# ------------------------------------------------------------------ entry point
def main(argv: list[str] | None = None) -> int:
    """Run the command line ``argv`` (default ``sys.argv[1:]``) and return its exit code."""
    argv = sys.argv[1:] if argv is None else [str(a) for a in argv]
    debug = "--debug" in argv  # until the arguments are parsed
    handler = None
    logger = logging.getLogger("polylip")
    saved_level = logger.level
    try:
        try:
            args = build_parser().parse_args(argv)
        except SystemExit as exc:  # --help, --version, or a usage error (already printed)
            code = exc.code
            return code if isinstance(code, int) else (EXIT_OK if code is None else EXIT_BAD_INPUT)
        debug = bool(args.debug)
        handler = _logging(args.verbose + getattr(args, "verbose_after", 0))
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return _fail(EXIT_INTERRUPTED, "polylip: interrupted", debug)
    except BrokenPipeError:
        _quiet_broken_pipe()
        return EXIT_OK
    except MemoryError as exc:
        detail = f" ({exc})" if str(exc) else ""
        return _fail(EXIT_NO_BOUND, f"polylip: error: out of memory{detail}; try a lower order, "
                     "a sparser relaxation or a smaller problem", debug)
    except (PolylipError, MissingDependencyError) as exc:
        return _fail(EXIT_BAD_INPUT, f"polylip: error: {exc}", debug)
    except OSError as exc:
        if exc.filename is None:
            return _internal(exc, debug)
        # a file polylip was asked to read or write (e.g. --plot into a missing folder)
        return _fail(EXIT_BAD_INPUT, f"polylip: error: {exc.filename}: "
                     f"{exc.strerror or _describe(exc)}", debug)
    except Exception as exc:  # noqa: BLE001 - the point: no traceback reaches the user
        return _internal(exc, debug)
    finally:
        if handler is not None:
            logger.removeHandler(handler)
            logger.setLevel(saved_level)


def _internal(exc: BaseException, debug: bool) -> int:
    hint = " (please report it, with the traceback above)" if debug else \
        " (run with --debug for the traceback; please report it)"
    return _fail(EXIT_NO_BOUND, f"polylip: internal error: {_describe(exc)}{hint}", debug)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
