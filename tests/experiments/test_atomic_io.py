"""Atomic writes: a failed write leaves neither a partial file nor a temporary file."""

import json
import math
import os
import stat
import sys

import jax.numpy as jnp
import numpy as np
import pytest

from experiments._io import to_jsonable, write_atomic, write_json_atomic, write_text_atomic


def test_write_text(tmp_path):
    path = write_text_atomic(tmp_path / "a.txt", "hello σ\n")
    assert path.read_text(encoding="utf-8") == "hello σ\n"
    assert os.listdir(tmp_path) == ["a.txt"]  # no temporary file left


def test_replaces_existing_file(tmp_path):
    target = tmp_path / "a.txt"
    target.write_text("old")
    write_text_atomic(target, "new")
    assert target.read_text() == "new"
    assert os.listdir(tmp_path) == ["a.txt"]


@pytest.mark.parametrize("error", [RuntimeError, KeyboardInterrupt])
def test_failure_mid_write_leaves_nothing(tmp_path, error):
    seen = []

    def write(f):
        f.write(b"partial")
        f.flush()
        seen.extend(os.listdir(tmp_path))  # the temporary file, not the target
        raise error("interrupted")

    with pytest.raises(error, match="interrupted"):
        write_atomic(tmp_path / "a.bin", write)
    assert len(seen) == 1
    assert seen[0] != "a.bin"
    assert os.listdir(tmp_path) == []


def test_failure_keeps_previous_content(tmp_path):
    target = tmp_path / "results.json"
    target.write_text('{"old": true}')

    def write(f):
        f.write(b'{"new": ')
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        write_atomic(target, write)
    assert target.read_text() == '{"old": true}'
    assert os.listdir(tmp_path) == ["results.json"]


def test_json_serialization_error_mid_write_leaves_nothing(tmp_path):
    # json.dump streams: the long string is written before the object fails to serialize.
    obj = {"first": "x" * 100_000, "bad": object()}
    with pytest.raises(TypeError, match="not JSON serializable"):
        write_json_atomic(tmp_path / "results.json", obj)
    assert os.listdir(tmp_path) == []


def test_json_rejects_nan(tmp_path):
    with pytest.raises(ValueError, match="not JSON compliant"):
        write_json_atomic(tmp_path / "results.json", {"x": math.nan})
    assert os.listdir(tmp_path) == []


def test_json_round_trip(tmp_path):
    obj = {"a": [1, 2.5, "s", None, True], "b": {"c": "σ"}}
    path = write_json_atomic(tmp_path / "r.json", obj)
    assert json.loads(path.read_text(encoding="utf-8")) == obj


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permission bits")
def test_file_mode_is_that_of_a_plain_new_file(tmp_path):
    # mkstemp creates 0600 files; a result file should get the umask's usual mode instead.
    path = write_text_atomic(tmp_path / "a.txt", "x")
    plain = tmp_path / "b.txt"
    plain.write_text("x")
    assert stat.S_IMODE(path.stat().st_mode) == stat.S_IMODE(plain.stat().st_mode)


def test_to_jsonable():
    obj = {
        "np_scalar": np.float32(0.5),
        "np_int": np.int64(3),
        "np_bool": np.bool_(True),
        "array": np.arange(3.0),
        "jax": jnp.arange(2),
        "tuple": (1, (2, 3)),
        "nan": math.nan,
        "inf": [math.inf, -math.inf],
        "np_nan": np.float64("nan"),
    }
    assert to_jsonable(obj) == {
        "np_scalar": 0.5,
        "np_int": 3,
        "np_bool": True,
        "array": [0.0, 1.0, 2.0],
        "jax": [0, 1],
        "tuple": [1, [2, 3]],
        "nan": "NaN",
        "inf": ["Infinity", "-Infinity"],
        "np_nan": "NaN",
    }
    json.dumps(to_jsonable(obj), allow_nan=False)


@pytest.mark.parametrize(("obj", "match"), [({1: 2}, "keys must be strings"), (object(), "type")])
def test_to_jsonable_errors(obj, match):
    with pytest.raises(TypeError, match=match):
        to_jsonable(obj)
