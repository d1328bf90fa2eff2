"""Config files: parsing into the experiment's frozen dataclass, and their error messages."""

import dataclasses
import re
from pathlib import Path
from typing import Literal

import pytest

import experiments.quickstart
from experiments import ConfigError, load_config
from experiments._config import config_names, config_to_dict, parse_config
from experiments._toml import dumps

VALID = {
    "seed": 0,
    "dtype": "float64",
    "m": 40,
    "n": 30,
    "rank": 3,
    "decay": 0.5,
    "oversample": 2,
    "power_iters": 1,
    "krylov_depth": 1,
    "repeats": 1,
}


def write_config(tmp_path: Path, table: dict, *, name: str = "cfg") -> Path:
    path = tmp_path / f"{name}.toml"
    path.write_text(dumps(table), encoding="utf-8")
    return path


def quickstart_config(tmp_path: Path, *, drop: tuple[str, ...] = (), **changes) -> Path:
    table = {"experiment": "quickstart", **VALID, **changes}
    return write_config(tmp_path, {k: v for k, v in table.items() if k not in drop})


def test_valid_config_parses(tmp_path):
    path = quickstart_config(tmp_path)
    loaded = load_config(path)
    assert loaded.name == "cfg"
    assert loaded.path == path
    assert loaded.experiment == "quickstart"
    assert loaded.module is experiments.quickstart
    assert loaded.config == experiments.quickstart.Config(**VALID)
    with pytest.raises(dataclasses.FrozenInstanceError):
        loaded.config.rank = 4  # type: ignore[misc]


def test_shipped_configs_parse():
    names = config_names()
    assert {"quickstart", "quickstart-tiny"} <= set(names)
    for name in names:
        assert load_config(name).name == name


def test_int_is_accepted_for_a_float_field():
    @dataclasses.dataclass(frozen=True)
    class C:
        x: float

    parsed = parse_config(C, {"x": 2})
    assert parsed.x == 2.0
    assert type(parsed.x) is float


def test_unknown_key_names_the_key_and_the_file(tmp_path):
    path = quickstart_config(tmp_path, colour="red")
    with pytest.raises(ConfigError, match="unknown key 'colour'") as info:
        load_config(path)
    message = str(info.value)
    assert str(path) in message
    assert "valid keys are: experiment, seed, dtype" in message


def test_unknown_key_suggests_a_close_match(tmp_path):
    path = quickstart_config(tmp_path, drop=("rank",), rnak=3)
    with pytest.raises(ConfigError, match=r"unknown key 'rnak' \(did you mean 'rank'\?\)"):
        load_config(path)


def test_missing_key(tmp_path):
    path = quickstart_config(tmp_path, drop=("repeats", "seed"))
    with pytest.raises(ConfigError, match="missing required keys 'seed', 'repeats'") as info:
        load_config(path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("rank", "three", "key 'rank' must be an integer; got string 'three'"),
        ("rank", 3.0, "key 'rank' must be an integer; got float 3.0"),
        ("rank", True, "key 'rank' must be an integer; got boolean True"),
        ("decay", "0.5", "key 'decay' must be a float (an integer is accepted); got string"),
        ("decay", [0.5], "key 'decay' must be a float (an integer is accepted); got array"),
        ("dtype", "float16", "key 'dtype' must be one of 'float64', 'float32'; got string"),
    ],
)
def test_wrong_type(tmp_path, key, value, expected):
    path = quickstart_config(tmp_path, **{key: value})
    with pytest.raises(ConfigError, match=re.escape(expected)) as info:
        load_config(path)
    assert str(path) in str(info.value)


def test_value_rejected_by_config_is_a_config_error(tmp_path):
    path = quickstart_config(tmp_path, rank=30)  # rank must be < min(m, n) = 30
    with pytest.raises(ConfigError, match=r"invalid config: rank must satisfy") as info:
        load_config(path)
    assert str(path) in str(info.value)


def test_missing_experiment_key(tmp_path):
    path = write_config(tmp_path, VALID)
    with pytest.raises(ConfigError, match="missing the key 'experiment'"):
        load_config(path)


@pytest.mark.parametrize(
    ("experiment", "expected"),
    [
        ("nonexistent", "there is no module experiments/nonexistent.py"),
        ("_runner", "must name a module experiments/<name>.py"),
        ("quickstart.evil", "must name a module experiments/<name>.py"),
        (3, "got integer 3"),
        ("benchmarks", "defines no dataclass `Config`"),
    ],
)
def test_bad_experiment(tmp_path, experiment, expected):
    path = write_config(tmp_path, {"experiment": experiment, **VALID})
    with pytest.raises(ConfigError, match=re.escape(expected)):
        load_config(path)


def test_invalid_toml(tmp_path):
    path = tmp_path / "broken.toml"
    path.write_text('experiment = "quickstart"\nseed = \n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"broken\.toml: invalid TOML"):
        load_config(path)


def test_unknown_config_name_lists_the_available_ones():
    with pytest.raises(ConfigError, match="unknown config 'nope'") as info:
        load_config("nope")
    assert "quickstart, quickstart-tiny" in str(info.value)


def test_config_name_cannot_be_a_path():
    with pytest.raises(ConfigError, match="unknown config"):
        load_config("../configs/quickstart")


@dataclasses.dataclass(frozen=True)
class Kinds:
    x: float
    flag: bool
    name: str
    sizes: list[int]
    shape: tuple[int, ...]
    mode: Literal["a", "b"] = "a"
    limit: int | None = None
    scales: list[float] = dataclasses.field(default_factory=list)


KINDS = {"x": 1.5, "flag": True, "name": "n", "sizes": [1, 2], "shape": [3, 4]}


def test_field_kinds_convert():
    parsed = parse_config(Kinds, {**KINDS, "limit": 7, "scales": [1, 2.5]})
    assert parsed == Kinds(1.5, True, "n", [1, 2], (3, 4), "a", 7, [1.0, 2.5])
    assert type(parsed.scales[0]) is float
    assert parse_config(Kinds, KINDS).limit is None


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"sizes": [1, "2"]}, "key 'sizes[1]' must be an integer; got string '2'"),
        ({"shape": 3}, "key 'shape' must be an array whose elements are each an integer"),
        ({"flag": 1}, "key 'flag' must be a boolean (true or false); got integer 1"),
        ({"mode": "c"}, "key 'mode' must be one of 'a', 'b'; got string 'c'"),
        ({"limit": "7"}, "key 'limit' must be an integer; got string '7'"),
        ({"name": {"a": 1}}, "key 'name' must be a string; got table"),
    ],
)
def test_field_kind_errors(changes, expected):
    with pytest.raises(ConfigError, match=re.escape(expected)):
        parse_config(Kinds, {**KINDS, **changes}, source="kinds.toml")


def test_unsupported_field_type_is_a_programming_error():
    @dataclasses.dataclass(frozen=True)
    class Bad:
        table: dict[str, int]

    with pytest.raises(TypeError, match="configs do not support"):
        parse_config(Bad, {"table": {"a": 1}})


def test_config_as_run_round_trips(tmp_path):
    cfg = load_config("quickstart").config
    table = {"experiment": "quickstart", **config_to_dict(cfg)}
    assert load_config(write_config(tmp_path, table)).config == cfg
