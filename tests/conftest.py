"""Test configuration: ``tests/`` on the path so test modules share ``support`` (helpers and
reference data), whatever folder of the mirrored layout they live in."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
