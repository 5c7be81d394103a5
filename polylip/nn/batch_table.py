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

from polylip.errors import MissingDependencyError, ModelError

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


def _from_text(key, v, where="row"):
    """A cell read back from CSV or JSON, with its type; a :class:`ModelError` naming the row
    and column for an unknown column or a value of the wrong type (a table from elsewhere:
    QA round 4, ``int("1.5")`` and ``float([])`` came out raw)."""
    if key not in COLUMNS:
        raise ModelError(f"{where}: unknown column {str(key)[:40]!r} (columns: {', '.join(COLUMNS)})")
    if v is None or v == "":
        return None
    try:
        if key in _INTS:
            if isinstance(v, bool) or not isinstance(v, (int, str)):
                raise ValueError
            return int(v)
        if key in _FLOATS:
            if isinstance(v, bool) or not isinstance(v, (int, float, str)):
                raise ValueError
            return float(v)  # float("inf") reads "inf" back
    except (ValueError, OverflowError):
        kind = "an integer" if key in _INTS else "a number"
        raise ModelError(f"{where}, column {key}: expected {kind}, got {str(v)[:40]!r}") from None
    if not isinstance(v, (str, int, float)):
        raise ModelError(f"{where}, column {key}: expected text, got {str(v)[:40]!r}")
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
        try:
            with open(path, encoding="utf-8", newline="") as fh:
                return cls([{k: _from_text(k, v, f"{path}, row {i + 1}") for k, v in r.items()}
                            for i, r in enumerate(csv.DictReader(fh))])
        except (UnicodeDecodeError, csv.Error) as exc:
            raise ModelError(f"cannot read {path} as a batch table: {exc}") from None

    @classmethod
    def from_json(cls, source) -> "BatchResult":
        """Read a table written by :meth:`to_json` (its text, or a path)."""
        text = source
        if not str(source).lstrip().startswith("{"):
            with open(source, encoding="utf-8") as fh:
                text = fh.read()
        try:
            doc = json.loads(text)
        except (ValueError, RecursionError) as exc:
            raise ModelError(f"not a batch table: invalid JSON: {str(exc)[:200]}") from None
        rows = doc.get("rows") if isinstance(doc, dict) else None
        info = doc.get("info", {}) if isinstance(doc, dict) else None
        if not isinstance(rows, list) or not isinstance(info, dict) or \
                not all(isinstance(r, dict) for r in rows):
            raise ModelError("not a batch table: expected an object with 'rows' (a list of "
                             "objects) and 'info' (an object)")
        return cls([{k: _from_text(k, v, f"row {i}") for k, v in r.items()} for i, r in enumerate(rows)],
                   dict(info))


