"""`format_table`, shared by the experiment runner and the benchmarks."""

import math

import numpy as np

from experiments import format_table


def test_alignment_and_float_format():
    rows = [
        {"method": "randomized_svd", "time_s": 0.0123, "passes": 6},
        {"method": "svd", "time_s": 1.5, "passes": None},
    ]
    assert format_table(rows) == "\n".join(
        [
            "method           time_s  passes",
            "--------------  -------  ------",
            "randomized_svd  0.01230       6",
            "svd               1.500",
        ]
    )


def test_union_of_columns_in_order_of_appearance():
    text = format_table([{"a": 1}, {"b": "x", "a": 2}, {"c": True}])
    header, _rule, *lines = text.splitlines()
    assert header.split() == ["a", "b", "c"]
    assert len(lines) == 3
    assert lines[2].split() == ["True"]


def test_special_values():
    text = format_table([{"x": math.nan, "y": np.float32(2.0), "z": np.int64(7)}])
    assert text.splitlines()[2].split() == ["nan", "2.000", "7"]


def test_custom_float_format():
    assert format_table([{"x": 1 / 3}], floatfmt=".2f").splitlines()[2] == "0.33"


def test_empty():
    assert format_table([]) == "(no rows)"


def test_no_trailing_decimal_point():
    assert format_table([{"x": 1272.3}]).splitlines()[2] == "1272"
