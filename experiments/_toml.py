"""A minimal TOML writer for flat configs: scalars and (nested) arrays, no tables.

Reading uses the standard library's `tomllib`; this is the other direction, just large
enough to write a config as run so that `tomllib` reads back exactly the same values.
"""

import math
import re
from collections.abc import Mapping

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_ESCAPES = {
    '"': '\\"',
    "\\": "\\\\",
    "\b": "\\b",
    "\t": "\\t",
    "\n": "\\n",
    "\f": "\\f",
    "\r": "\\r",
}


def _string(s: str) -> str:
    out = []
    for ch in s:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:  # other control characters
            out.append(f"\\u{ord(ch):04X}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _key(key: object) -> str:
    if not isinstance(key, str):
        raise TypeError(f"TOML keys must be strings; got {key!r}.")
    return key if _BARE_KEY.fullmatch(key) else _string(key)


def _value(value: object, where: str) -> str:
    if isinstance(value, bool):  # before int: bool is a subclass of int
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)  # shortest round-tripping form, e.g. 0.1, 1e-05, 2.0
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_value(v, f"{where}[{i}]") for i, v in enumerate(value)) + "]"
    raise TypeError(
        f"cannot write {where} = {value!r} as TOML: only bool, int, float, str and "
        f"lists of them are supported, got {type(value).__name__}."
    )


def dumps(table: Mapping[str, object], *, header: str | None = None) -> str:
    """TOML text for a flat mapping of scalars and lists, readable by `tomllib.loads`.

    Parameters
    ----------
    table : Mapping[str, object]
        Keys are strings; values are bool, int, float (including inf and nan), str, or
        lists/tuples of those (tuples are written as arrays).
    header : str or None
        Comment lines written first, each prefixed with `# `.

    Returns
    -------
    str
        One `key = value` line per item, in order, ending with a newline.

    Raises
    ------
    TypeError
        For a non-string key or a value of another type (dicts and None included: TOML has
        no null, and nested tables are not needed for flat configs).

    Examples
    --------
    >>> print(dumps({"seed": 0, "dtype": "float64", "sizes": [10, 20]}), end="")
    seed = 0
    dtype = "float64"
    sizes = [10, 20]
    """
    lines = [f"# {line}".rstrip() for line in header.splitlines()] if header else []
    lines += [f"{_key(k)} = {_value(v, repr(k))}" for k, v in table.items()]
    return "\n".join(lines) + "\n"
