"""The table of :func:`~polylip.nn.batch.lipschitz_batch`: :class:`BatchResult`, one row per
(center, output) pair (columns :data:`COLUMNS`), written and read as CSV or JSON.

Split out of :mod:`polylip.nn.batch` (which runs the tasks) to keep each module under 500
lines; :mod:`polylip.nn.batch` re-exports both names.

Examples
--------
>>> res = BatchResult([{"index": 0, "center": 0, "upper": 2.0, "status": "ok"}])
>>> res.to_csv().splitlines()[1][:12]
'0,0,,,,,2.0,'
"""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass, field

from polylip.errors import MissingDependencyError

__all__ = ["BatchResult", "COLUMNS"]

#: The columns of a row, in order (CSV header).
COLUMNS = ("index", "center", "output", "norm", "region", "radius", "upper", "lower", "gap",
           "status", "method", "best_method", "seconds", "constant", "value", "min_value",
           "error")
_FLOATS = ("radius", "upper", "lower", "gap", "seconds", "value", "min_value")
_INTS = ("index", "center")


# --------------------------------------------------------------------------------------------
# the table
# --------------------------------------------------------------------------------------------
def _json_value(v):
    if isinstance(v, float) and not math.isfinite(v):
        return "inf" if v > 0 else "-inf" if v < 0 else None
    return v


def _from_text(key, v):
    """A cell read back from CSV or JSON, with its type."""
    if v is None or v == "":
        return None
    if key in _INTS:
        return int(v)
    if key in _FLOATS:
        return float(v)  # float("inf") reads "inf" back
    return v


@dataclass
class BatchResult:
    """The table of :func:`lipschitz_batch`: ``rows``, one dict per (center, output) pair in
    that order (keys :data:`COLUMNS`), and ``info`` (backend, workers, wall seconds).

    Examples
    --------
    >>> res = BatchResult([{"index": 0, "center": 0, "upper": 2.0}])
    >>> BatchResult.from_json(res.to_json()).rows[0]["upper"]
    2.0
    """

    rows: list
    info: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def errors(self) -> list:
        """The rows whose task failed (``status == "error"``)."""
        return [r for r in self.rows if r.get("status") == "error"]

    def to_csv(self, path=None) -> str:
        """The table as CSV (header :data:`COLUMNS`; empty cells for None), written to
        ``path`` when given; returns the text."""
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=list(COLUMNS), extrasaction="ignore",
                                lineterminator="\n")
        writer.writeheader()
        for r in self.rows:
            writer.writerow({k: ("" if r.get(k) is None else repr(r[k])
                                 if isinstance(r.get(k), float) else r[k]) for k in COLUMNS})
        text = buf.getvalue()
        if path is not None:
            with open(path, "w", encoding="utf-8", newline="") as fh:
                fh.write(text)
        return text

    def to_json(self, path=None) -> str:
        """The table as JSON, ``{"columns": [...], "rows": [...], "info": {...}}`` (infinite
        values as "inf"), written to ``path`` when given; returns the text."""
        rows = [json.dumps({k: _json_value(v) for k, v in r.items()}) for r in self.rows]
        text = (f'{{"columns": {json.dumps(list(COLUMNS))},\n "info": '
                f'{json.dumps({k: _json_value(v) for k, v in self.info.items()})},\n'
                f' "rows": [\n  ' + ",\n  ".join(rows) + "\n ]}")  # one line a row
        if path is not None:
            with open(path, "w", encoding="utf-8") as fh:
                fh.write(text + "\n")
        return text

    def to_pandas(self):
        """The table as a ``pandas.DataFrame`` (needs pandas, which polylip does not
        install)."""
        try:
            import pandas as pd
        except ImportError:
            raise MissingDependencyError("pandas", "BatchResult.to_pandas()") from None
        return pd.DataFrame(self.rows, columns=list(COLUMNS))

    @classmethod
    def from_csv(cls, path) -> "BatchResult":
        """Read a table written by :meth:`to_csv` (a path)."""
        with open(path, encoding="utf-8", newline="") as fh:
            return cls([{k: _from_text(k, v) for k, v in r.items()} for r in csv.DictReader(fh)])

    @classmethod
    def from_json(cls, source) -> "BatchResult":
        """Read a table written by :meth:`to_json` (its text, or a path)."""
        text = source
        if not str(source).lstrip().startswith("{"):
            with open(source, encoding="utf-8") as fh:
                text = fh.read()
        doc = json.loads(text)
        return cls([{k: _from_text(k, v) for k, v in r.items()} for r in doc["rows"]],
                   dict(doc.get("info", {})))


