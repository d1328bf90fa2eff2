"""Plain-text tables for experiment and benchmark results."""

import math
import numbers
from collections.abc import Mapping, Sequence


def _cell(value: object, floatfmt: str) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Real):
        x = float(value)
        if not math.isfinite(x):
            return str(x)
        text = format(x, floatfmt)
        return text[:-1] if text.endswith(".") else text  # "#.4g" gives "1272."
    return str(value)


def _is_number(value: object) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def format_table(rows: Sequence[Mapping[str, object]], *, floatfmt: str = "#.4g") -> str:
    """Format result rows as an aligned plain-text table.

    Columns are the union of the rows' keys, in order of first appearance; a row without a
    key gets an empty cell, as does `None`. Floats are formatted with `floatfmt` (four
    significant digits by default); numeric columns are right-aligned, others left-aligned.

    Parameters
    ----------
    rows : Sequence[Mapping[str, object]]
        One mapping per row, column name to value.
    floatfmt : str
        A format spec for floats (`format(x, floatfmt)`).

    Returns
    -------
    str
        A header line, a rule of dashes and one line per row, without a trailing newline;
        `"(no rows)"` for an empty table.

    Examples
    --------
    >>> rows = [{"method": "rsvd", "time_s": 0.0123}, {"method": "svd", "time_s": 1.5}]
    >>> print(format_table(rows))
    method   time_s
    ------  -------
    rsvd    0.01230
    svd       1.500
    """
    if not rows:
        return "(no rows)"
    columns: dict[str, None] = {}
    for row in rows:
        columns.update(dict.fromkeys(row))
    cells = [[_cell(row.get(c), floatfmt) for c in columns] for row in rows]
    numeric = [all(_is_number(row[c]) for row in rows if row.get(c) is not None) for c in columns]
    widths = [max(len(c), *(len(line[j]) for line in cells)) for j, c in enumerate(columns)]

    def line(items: Sequence[str], right: Sequence[bool]) -> str:
        return "  ".join(
            s.rjust(w) if r else s.ljust(w) for s, w, r in zip(items, widths, right, strict=True)
        ).rstrip()

    header = line(list(columns), numeric)
    rule = "  ".join("-" * w for w in widths)
    return "\n".join([header, rule, *(line(c, numeric) for c in cells)])
