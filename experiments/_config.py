"""Config files: find them, parse them into an experiment's frozen `Config` dataclass.

A config is `experiments/configs/NAME.toml`. Its top-level key `experiment` names the
module `experiments/<experiment>.py`; every other key sets the field of that module's
`Config` of the same name. Unknown keys, missing required keys and values of the wrong
type are errors that name the key and the file.
"""

import dataclasses
import difflib
import importlib
import re
import tomllib
import types
import typing
from collections.abc import Mapping
from datetime import date, datetime, time
from pathlib import Path
from typing import Any, Literal, TypeVar

CONFIG_DIR = Path(__file__).parent / "configs"
_CONFIG_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
_EXPERIMENT_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")  # a public module name
_C = TypeVar("_C")


class ConfigError(ValueError):
    """A config that cannot be found, read or parsed; the message names file and key."""


@dataclasses.dataclass(frozen=True)
class LoadedConfig:
    """A parsed config file.

    Attributes
    ----------
    name : str
        The config name (the file name without `.toml`).
    path : pathlib.Path
        The file read.
    experiment : str
        The value of its `experiment` key.
    module : types.ModuleType
        `experiments.<experiment>`.
    config : Any
        An instance of `module.Config`.
    """

    name: str
    path: Path
    experiment: str
    module: types.ModuleType
    config: Any


def config_names(config_dir: Path = CONFIG_DIR) -> list[str]:
    """Sorted names of the configs in `config_dir` (the `*.toml` files, without suffix).

    Parameters
    ----------
    config_dir : pathlib.Path
        Defaults to `experiments/configs`.

    Returns
    -------
    list[str]
        Names that `load_config` accepts.
    """
    return sorted(p.stem for p in config_dir.glob("*.toml") if _CONFIG_NAME.fullmatch(p.stem))


def config_path(name: str, config_dir: Path = CONFIG_DIR) -> Path:
    """Path of config `name`, checking that it exists.

    Parameters
    ----------
    name : str
        A config name such as `"quickstart"` (not a path).
    config_dir : pathlib.Path
        Defaults to `experiments/configs`.

    Returns
    -------
    pathlib.Path
        `config_dir / f"{name}.toml"`.

    Raises
    ------
    ConfigError
        If there is no such config; the message lists the available ones.
    """
    path = config_dir / f"{name}.toml"
    if not _CONFIG_NAME.fullmatch(name) or not path.is_file():
        available = ", ".join(config_names(config_dir)) or "(none)"
        hint = difflib.get_close_matches(name, config_names(config_dir), n=1)
        did_you_mean = f" Did you mean {hint[0]!r}?" if hint else ""
        raise ConfigError(
            f"unknown config {name!r}: there is no {path}.{did_you_mean} "
            f"Available configs: {available}."
        )
    return path


def load_config(config: str | Path) -> LoadedConfig:
    """Read a config file and parse it into its experiment's `Config`.

    Parameters
    ----------
    config : str or pathlib.Path
        A config name (looked up in `experiments/configs`), or a `Path` to a TOML file.

    Returns
    -------
    LoadedConfig
        The name, path, experiment module and the parsed `Config` instance.

    Raises
    ------
    ConfigError
        If the file does not exist or is not valid TOML; if `experiment` is missing or does
        not name an experiment module; or for unknown keys, missing required keys, values
        of the wrong type, or values that `Config` itself rejects.
    """
    path = config if isinstance(config, Path) else config_path(config)
    source = str(path)
    try:
        with open(path, "rb") as f:
            table = tomllib.load(f)
    except FileNotFoundError:
        raise ConfigError(f"config file {source} does not exist.") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{source}: invalid TOML: {e}") from e
    table = dict(table)
    experiment = table.pop("experiment", None)
    if experiment is None:
        raise ConfigError(
            f"{source}: missing the key 'experiment', which names the experiment module "
            '(for example experiment = "quickstart" runs experiments/quickstart.py).'
        )
    module = import_experiment(experiment, source=source)
    return LoadedConfig(
        name=path.stem,
        path=path,
        experiment=experiment,
        module=module,
        config=parse_config(module.Config, table, source=source),
    )


def import_experiment(experiment: object, *, source: str = "config") -> types.ModuleType:
    """Import `experiments.<experiment>` and check that it follows the experiment contract.

    Parameters
    ----------
    experiment : object
        The value of a config's `experiment` key.
    source : str
        Where the value came from, for error messages.

    Returns
    -------
    types.ModuleType
        The module, which has a frozen dataclass `Config` and a callable `run`.

    Raises
    ------
    ConfigError
        If `experiment` is not a public module name, there is no such module, or the
        module lacks `Config` or `run`.
    """
    if not isinstance(experiment, str) or not _EXPERIMENT_NAME.fullmatch(experiment):
        raise ConfigError(
            f"{source}: key 'experiment' must name a module experiments/<name>.py "
            f"(a Python identifier not starting with '_'); got {_describe_value(experiment)}."
        )
    module_name = f"experiments.{experiment}"
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as e:
        if e.name != module_name:
            raise
        raise ConfigError(
            f"{source}: experiment = {experiment!r}, but there is no module "
            f"experiments/{experiment}.py."
        ) from None
    cls = getattr(module, "Config", None)
    if not (isinstance(cls, type) and dataclasses.is_dataclass(cls)):
        raise ConfigError(f"experiments/{experiment}.py defines no dataclass `Config`.")
    if not cls.__dataclass_params__.frozen:  # type: ignore[attr-defined]
        raise ConfigError(f"experiments/{experiment}.py: `Config` must be a frozen dataclass.")
    if not callable(getattr(module, "run", None)):
        raise ConfigError(f"experiments/{experiment}.py defines no function `run(cfg)`.")
    return module


def parse_config(cls: type[_C], table: Mapping[str, Any], *, source: str = "config") -> _C:
    """Build the frozen dataclass `cls` from a TOML table, checking keys and types.

    Supported field types: `bool`, `int`, `float` (an integer is accepted and converted),
    `str`, `typing.Literal[...]` of those, `list[T]`, `tuple[T, ...]` (from a TOML array),
    and unions such as `int | None` (a field that is `None` by default is simply left out,
    since TOML has no null).

    Parameters
    ----------
    cls : type
        A dataclass; fields with `init=False` cannot be set.
    table : Mapping[str, Any]
        The parsed TOML, without the `experiment` key.
    source : str
        The file name, for error messages.

    Returns
    -------
    cls
        `cls(**table)` after validation and conversion.

    Raises
    ------
    ConfigError
        For unknown keys (with a close match, if any), missing required keys, values of
        the wrong type, or a `ValueError`/`TypeError` raised by `cls` itself (for example
        from `__post_init__`).
    TypeError
        If `cls` has a field type this parser does not support (a bug in the experiment).
    """
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}  # type: ignore[arg-type]
    hints = typing.get_type_hints(cls)
    unknown = [k for k in table if k not in fields]
    if unknown:
        hints_text = [
            f"{k!r} (did you mean {m[0]!r}?)"
            if (m := difflib.get_close_matches(k, fields, 1))
            else repr(k)
            for k in unknown
        ]
        s = "s" if len(unknown) > 1 else ""
        raise ConfigError(
            f"{source}: unknown key{s} {', '.join(hints_text)} for experiment config "
            f"{cls.__module__}.{cls.__qualname__}; valid keys are: experiment, "
            f"{', '.join(fields)}."
        )
    missing = [
        name
        for name, f in fields.items()
        if name not in table
        and f.default is dataclasses.MISSING
        and f.default_factory is dataclasses.MISSING
    ]
    if missing:
        s = "s" if len(missing) > 1 else ""
        raise ConfigError(
            f"{source}: missing required key{s} {', '.join(map(repr, missing))} "
            f"(a config sets every field of {cls.__module__}.{cls.__qualname__} that has "
            "no default)."
        )
    kwargs = {k: _convert(v, hints[k], k, source) for k, v in table.items()}
    try:
        return cls(**kwargs)
    except (ValueError, TypeError) as e:
        raise ConfigError(f"{source}: invalid config: {e}") from e


def config_to_dict(cfg: Any) -> dict[str, Any]:
    """The fields of a `Config` instance as a flat dict (tuples become lists).

    Parameters
    ----------
    cfg : Any
        A dataclass instance.

    Returns
    -------
    dict[str, Any]
        Field name to value, in field order; ready for the TOML writer and for JSON.
    """
    return {f.name: _untuple(getattr(cfg, f.name)) for f in dataclasses.fields(cfg)}


def _untuple(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return [_untuple(v) for v in value]
    return value


_TOML_TYPE_NAMES = (
    (bool, "boolean"),
    (int, "integer"),
    (float, "float"),
    (str, "string"),
    (list, "array"),
    (dict, "table"),
    (datetime, "datetime"),
    (date, "date"),
    (time, "time"),
)


def _describe_value(value: object) -> str:
    for tp, name in _TOML_TYPE_NAMES:
        if isinstance(value, tp):
            return f"{name} {value!r}"
    return f"{type(value).__name__} {value!r}"


def _describe_type(tp: Any) -> str:
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if tp is bool:
        return "a boolean (true or false)"
    if tp is int:
        return "an integer"
    if tp is float:
        return "a float (an integer is accepted)"
    if tp is str:
        return "a string"
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in args)
    if origin is list or (origin is tuple and len(args) == 2 and args[1] is Ellipsis):
        return f"an array whose elements are each {_describe_type(args[0])}"
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_describe_type(a) for a in args if a is not type(None))
    return repr(tp)


class _Mismatch(Exception):
    pass


def _convert(value: Any, tp: Any, where: str, source: str) -> Any:
    try:
        return _convert_inner(value, tp, where)
    except _Mismatch as e:
        bad_where, bad_tp, bad_value = e.args
        raise ConfigError(
            f"{source}: key {bad_where!r} must be {_describe_type(bad_tp)}; "
            f"got {_describe_value(bad_value)}."
        ) from None


def _convert_inner(value: Any, tp: Any, where: str) -> Any:
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if tp is Any:
        return value
    if tp is bool or tp is str:
        if isinstance(value, tp):
            return value
    elif tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif tp is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
    elif origin is Literal:
        # type(...) is compared too, so that true does not match 1 nor 1 match 1.0.
        if any(type(value) is type(a) and value == a for a in args):
            return value
    elif origin is list:
        if isinstance(value, list):
            return [_convert_inner(v, args[0], f"{where}[{i}]") for i, v in enumerate(value)]
    elif origin is tuple and len(args) == 2 and args[1] is Ellipsis:
        if isinstance(value, list):
            return tuple(_convert_inner(v, args[0], f"{where}[{i}]") for i, v in enumerate(value))
    elif origin in (typing.Union, types.UnionType):
        for arm in args:
            if arm is type(None):
                continue
            try:
                return _convert_inner(value, arm, where)
            except _Mismatch:
                pass
    else:
        raise TypeError(
            f"config field {where!r} has type {tp!r}, which configs do not support; use "
            "bool, int, float, str, Literal[...], list[T], tuple[T, ...] or a union of them."
        )
    raise _Mismatch(where, tp, value)


def working_dtype(name: str) -> Any:
    """The JAX dtype a config's `dtype` names, checking that float64 is enabled.

    Raises
    ------
    RuntimeError
        If `name` is `"float64"` but `jax_enable_x64` is off (JAX would silently compute in
        float32).
    """
    import jax
    import jax.numpy as jnp

    if name == "float64" and not jax.config.read("jax_enable_x64"):
        raise RuntimeError(
            "Config.dtype is 'float64' but jax_enable_x64 is off; call "
            'jax.config.update("jax_enable_x64", True) first (python -m experiments does).'
        )
    return jnp.dtype(name)


def require_positive(cfg: Any, *names: str) -> None:
    """Raise `ValueError` unless each named integer field of `cfg` is at least 1."""
    for name in names:
        if getattr(cfg, name) < 1:
            raise ValueError(f"{name} must be at least 1; got {getattr(cfg, name)}.")


def require_rank_below_min(rank: int, m: int, n: int) -> None:
    """Raise `ValueError` unless `1 <= rank < min(m, n)`, so that sigma_(rank+1) exists."""
    r = min(m, n)
    if not 1 <= rank < r:
        raise ValueError(
            f"rank must satisfy 1 <= rank < min(m, n) = {r} (sigma_(rank+1) is the "
            f"reference error); got rank={rank}."
        )
