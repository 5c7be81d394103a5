"""Fixtures of the command-line tests: ``cli`` runs ``polylip.cli.main`` in-process,
``bad_files`` are inputs that are neither problems nor networks."""

import numpy as np
import pytest

from polylip.cli import main
from support.cli import Run


@pytest.fixture
def cli(capsys):
    """``cli(*argv)``: ``polylip.cli.main(argv)`` in-process, as a :class:`support.cli.Run`."""
    def run(*argv) -> Run:
        code = main([str(a) for a in argv])
        out, err = capsys.readouterr()
        return Run(code, out, err)
    return run


@pytest.fixture
def bad_files(tmp_path):
    """Binary, Latin-1, a directory, a missing path, an 11 MiB (sparse) file, an empty .npz
    and a .npz that is no zip archive."""
    files = {"binary": tmp_path / "binary.pop", "latin1": tmp_path / "latin1.pop",
             "directory": tmp_path / "folder.pop", "missing": tmp_path / "missing.pop",
             "huge": tmp_path / "huge.pop", "empty_npz": tmp_path / "empty.npz",
             "fake_npz": tmp_path / "fake.npz"}
    files["binary"].write_bytes(bytes(range(256)) * 8)
    files["latin1"].write_bytes("minimize: x^2 + y^2  # caf\u00e9\n".encode("latin-1"))
    files["directory"].mkdir()
    with open(files["huge"], "wb") as fh:  # sparse: 11 MiB long, no disk used
        fh.truncate(11 * 2**20)
    np.savez(files["empty_npz"])
    files["fake_npz"].write_bytes(b"PK\x03\x04 this is not a zip archive")
    return files
