"""The minimal TOML writer: what it writes, `tomllib` reads back unchanged."""

import math
import tomllib

import pytest
from hypothesis import given, strategies as st

from experiments._toml import dumps

scalars = (
    st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)  # TOML integers are 64-bit
    | st.floats(allow_nan=False)
    | st.text()
)
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4), max_leaves=10)


@given(st.dictionaries(st.text(min_size=1), values, max_size=6))
def test_round_trip(table):
    assert tomllib.loads(dumps(table)) == table


def test_tricky_values():
    table = {
        "quote": 'say "hi" \\ back\\slash',
        "controls": "tab\tnewline\nnull\x00del\x7fcr\r",
        "unicode": "σ_i ≤ 1, 😀",
        "floats": [0.1, 1e-300, 1e300, -0.0, 2.0, 5e-324],
        "nested": [[1, 2], ["a"], []],
        "key with spaces": True,
        "": "empty key",
    }
    assert tomllib.loads(dumps(table)) == table


def test_non_finite_floats():
    loaded = tomllib.loads(dumps({"a": math.inf, "b": -math.inf, "c": math.nan}))
    assert loaded["a"] == math.inf
    assert loaded["b"] == -math.inf
    assert math.isnan(loaded["c"])


def test_tuples_are_arrays_and_output_is_readable():
    text = dumps({"seed": 0, "dtype": "float64", "shape": (3, 4)}, header="line one\nline two")
    assert text == ('# line one\n# line two\nseed = 0\ndtype = "float64"\nshape = [3, 4]\n')
    assert tomllib.loads(text) == {"seed": 0, "dtype": "float64", "shape": [3, 4]}


@pytest.mark.parametrize(
    ("table", "match"),
    [
        ({"a": None}, "cannot write 'a' = None as TOML"),
        ({"a": {"b": 1}}, "got dict"),
        ({"a": [1, object()]}, r"cannot write 'a'\[1\]"),
        ({1: 2}, "TOML keys must be strings"),
    ],
)
def test_unsupported_values(table, match):
    with pytest.raises(TypeError, match=match):
        dumps(table)
