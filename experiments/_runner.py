"""The `python -m experiments` command line: list configs, run experiments and benchmarks.

This is the only place that changes JAX's global configuration (`jax_enable_x64`), and it
does so before running anything; library code never does.
"""

import argparse
import ast
import importlib
import pkgutil
import re
import sys
import time
import tomllib
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any, TextIO

import jax
from matplotlib.figure import Figure

from ._config import CONFIG_DIR, ConfigError, config_names, config_to_dict, load_config
from ._io import to_jsonable, write_atomic, write_json_atomic, write_text_atomic
from ._progress import Progress, tqdm_progress
from ._provenance import provenance
from ._table import format_table as format_table
from ._toml import dumps as dumps_toml

PROG = "python -m experiments"
RUNS_DIR = Path("runs")
SIZES = ("full", "tiny")
_FIGURE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")
_BENCH_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_RESULT_KEYS = ("table", "figures", "data", "notes")


class RunnerError(Exception):
    """A problem the user can fix: an unknown benchmark, a broken result contract, ..."""


def _enable_x64() -> None:
    jax.config.update("jax_enable_x64", True)


# --- results ---------------------------------------------------------------------------


def check_result(result: object, *, where: str, require_figures: bool) -> dict[str, Any]:
    """Validate the dict returned by an experiment's or a benchmark's `run`.

    Parameters
    ----------
    result : object
        The returned value.
    where : str
        The function that returned it, for error messages.
    require_figures : bool
        Whether `"figures"` must be present (experiments) or may be left out (benchmarks).

    Returns
    -------
    dict[str, Any]
        `table` (list of dicts), `figures` (dict name -> Figure), `data` (dict) and
        `notes` (list of str), with the optional ones filled in empty.

    Raises
    ------
    RunnerError
        For a non-dict, an unknown or missing key, or a value of the wrong type.
    """
    if not isinstance(result, Mapping):
        raise RunnerError(
            f"{where} must return a dict with keys {', '.join(_RESULT_KEYS)}; "
            f"got {type(result).__name__}."
        )
    unknown = [k for k in result if k not in _RESULT_KEYS]
    if unknown:
        raise RunnerError(
            f"{where} returned unknown key(s) {', '.join(map(repr, unknown))}; the allowed "
            f"keys are {', '.join(_RESULT_KEYS)} (put anything else under 'data')."
        )
    required = ("table", "figures") if require_figures else ("table",)
    missing = [k for k in required if k not in result]
    if missing:
        raise RunnerError(f"{where} returned no {', '.join(map(repr, missing))}.")
    table = result["table"]
    if not isinstance(table, list) or not all(
        isinstance(row, Mapping) and all(isinstance(k, str) for k in row) for row in table
    ):
        raise RunnerError(f"{where}: 'table' must be a list of dicts with string keys.")
    figures = result.get("figures", {})
    if not isinstance(figures, Mapping):
        raise RunnerError(f"{where}: 'figures' must be a dict mapping names to Figures.")
    for name, fig in figures.items():
        if not isinstance(name, str) or not _FIGURE_NAME.fullmatch(name):
            raise RunnerError(
                f"{where}: figure name {name!r} must match {_FIGURE_NAME.pattern} "
                "(it becomes the file name NAME.png)."
            )
        if not isinstance(fig, Figure):
            raise RunnerError(
                f"{where}: figure {name!r} must be a matplotlib.figure.Figure; "
                f"got {type(fig).__name__}."
            )
    data = result.get("data", {})
    if not isinstance(data, Mapping):
        raise RunnerError(f"{where}: 'data' must be a dict.")
    notes = result.get("notes", [])
    if not isinstance(notes, list) or not all(isinstance(n, str) for n in notes):
        raise RunnerError(f"{where}: 'notes' must be a list of strings.")
    return {"table": table, "figures": dict(figures), "data": dict(data), "notes": notes}


def new_run_dir(parent: Path, started: datetime) -> Path:
    """Create a fresh directory `parent/<YYYYmmdd-HHMMSS-ffffff>` for one run.

    Parameters
    ----------
    parent : pathlib.Path
        Created if missing, e.g. `runs/quickstart`.
    started : datetime.datetime
        The run's start time (UTC), which names the directory.

    Returns
    -------
    pathlib.Path
        The new, empty directory. If the name is taken (two runs in the same
        microsecond), `-1`, `-2`, ... is appended; an existing directory is never reused.
    """
    parent.mkdir(parents=True, exist_ok=True)
    stamp = started.strftime("%Y%m%d-%H%M%S-%f")
    for i in range(1000):
        run_dir = parent / (stamp if i == 0 else f"{stamp}-{i}")
        try:
            run_dir.mkdir()
        except FileExistsError:
            continue
        return run_dir
    raise RunnerError(f"could not create a new run directory {parent / stamp}-N.")


def _write_run(
    run_dir: Path, result: dict[str, Any], record: dict[str, Any], config_toml: str | None
) -> list[str]:
    """Write figures, config.toml and, last, results.json; all atomically."""
    written = []
    figure_files = []
    for name, fig in result["figures"].items():
        file = f"{name}.png"
        write_atomic(run_dir / file, lambda f, fig=fig: fig.savefig(f, format="png", dpi=150))
        figure_files.append(file)
        if "matplotlib.pyplot" in sys.modules:  # release pyplot-managed figures
            sys.modules["matplotlib.pyplot"].close(fig)
    written += figure_files
    if config_toml is not None:
        write_text_atomic(run_dir / "config.toml", config_toml)
        written.append("config.toml")
    record = {
        **record,
        "table": result["table"],
        "notes": result["notes"],
        "data": result["data"],
        "figures": figure_files,
    }
    # Written last: a run directory without results.json is an interrupted run.
    write_json_atomic(run_dir / "results.json", to_jsonable(record))
    written.append("results.json")
    return written


def _report(out: TextIO, result: dict[str, Any], run_dir: Path, files: list[str], wall: float):
    print(format_table(result["table"]), file=out)
    if result["notes"]:
        print(file=out)
        for note in result["notes"]:
            print(f"  {note}", file=out)
    print(file=out)
    print(f"Wrote {run_dir}/ ({', '.join(sorted(files))}) in {wall:.1f} s wall time.", file=out)


def _timestamps() -> tuple[datetime, str, float]:
    started = datetime.now(UTC)
    return started, started.isoformat(timespec="microseconds"), time.perf_counter()


# --- run ---------------------------------------------------------------------------------


def run_experiment(
    config: str | Path,
    *,
    runs_dir: Path = RUNS_DIR,
    progress: Progress = tqdm_progress,
    out: TextIO | None = None,
) -> Path:
    """Run a config and write `runs_dir/NAME/<timestamp>/`; what `run NAME` does.

    Enables `jax_enable_x64` first (the config's `dtype` then decides the precision),
    calls the experiment's `run(cfg, progress=progress)`, and only then creates the run
    directory and writes, each file atomically: the figures as PNG, `config.toml` (every
    field of the `Config`, defaults included) and finally `results.json` (config, table,
    notes, data, figure file names and provenance). Prints the table to `out`.

    Parameters
    ----------
    config : str or pathlib.Path
        A config name in `experiments/configs`, or the path of a TOML file.
    runs_dir : pathlib.Path
        Parent of the per-config run directories (default `runs`, relative to the
        working directory).
    progress : Progress
        Passed to the experiment; the default draws `tqdm` bars on stderr.
    out : TextIO or None
        Where to print the table; `None` means `sys.stdout`.

    Returns
    -------
    pathlib.Path
        The run directory.

    Raises
    ------
    ConfigError
        For an unknown or invalid config.
    RunnerError
        If the experiment breaks the result contract.
    """
    out = sys.stdout if out is None else out
    loaded = load_config(config)
    _enable_x64()
    started, timestamp, t0 = _timestamps()
    raw = loaded.module.run(loaded.config, progress=progress)
    wall = time.perf_counter() - t0
    result = check_result(raw, where=f"experiments.{loaded.experiment}.run", require_figures=True)
    cfg = config_to_dict(loaded.config)
    run_dir = new_run_dir(Path(runs_dir) / loaded.name, started)
    config_toml = dumps_toml(
        {"experiment": loaded.experiment, **cfg},
        header=f"Config {loaded.name!r} as run at {timestamp} ({PROG} run {loaded.name}).",
    )
    record = {
        "kind": "experiment",
        "name": loaded.name,
        "experiment": loaded.experiment,
        "config": cfg,
        "provenance": provenance(
            config_name=loaded.name,
            command=["run", loaded.name],
            timestamp=timestamp,
            wall_time_s=wall,
        ),
    }
    files = _write_run(run_dir, result, record, config_toml)
    _report(out, result, run_dir, files, wall)
    return run_dir


# --- bench -------------------------------------------------------------------------------


def _benchmarks_package() -> ModuleType:
    from . import benchmarks

    return benchmarks


def benchmark_names() -> list[str]:
    """Sorted names of the modules in `experiments/benchmarks` (without importing them).

    Returns
    -------
    list[str]
        Names that `run_benchmark` accepts.
    """
    path = _benchmarks_package().__path__
    return sorted(m.name for m in pkgutil.iter_modules(path) if not m.name.startswith("_"))


def _import_benchmark(name: str) -> ModuleType:
    available = ", ".join(benchmark_names()) or "(none yet)"
    if not _BENCH_NAME.fullmatch(name):
        raise RunnerError(
            f"unknown benchmark {name!r} (a benchmark is a module experiments/benchmarks/"
            f"<name>.py). Available benchmarks: {available}."
        )
    module_name = f"{_benchmarks_package().__name__}.{name}"
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as e:
        if e.name == module_name:
            raise RunnerError(
                f"unknown benchmark {name!r}: there is no experiments/benchmarks/{name}.py. "
                f"Available benchmarks: {available}."
            ) from None
        raise RunnerError(
            f"benchmark {name!r} needs the module {e.name!r}, which is not installed. The "
            "libraries benchmarks compare against are in the 'bench' extra: "
            "pip install -e '.[bench]'."
        ) from e
    if not callable(getattr(module, "run", None)):
        raise RunnerError(f"experiments/benchmarks/{name}.py defines no function run(size).")
    return module


def run_benchmark(
    name: str,
    *,
    size: str = "full",
    runs_dir: Path = RUNS_DIR,
    out: TextIO | None = None,
) -> Path:
    """Run `experiments.benchmarks.<name>.run(size)` and write `runs_dir/bench-NAME/<timestamp>/`.

    Enables `jax_enable_x64`, runs the benchmark, prints its table and notes to `out`,
    and writes (atomically) its figures, if any, and `results.json` (name, size, table,
    notes, data and provenance).

    Parameters
    ----------
    name : str
        A module name in `experiments/benchmarks`.
    size : {"full", "tiny"}
        Passed to the benchmark: `"tiny"` is a seconds-long smoke run.
    runs_dir : pathlib.Path
        Parent of the run directories (default `runs`).
    out : TextIO or None
        Where to print the table; `None` means `sys.stdout`.

    Returns
    -------
    pathlib.Path
        The run directory.

    Raises
    ------
    RunnerError
        For an unknown benchmark (the message lists the available ones), a missing optional
        dependency, an unknown `size`, or a result that breaks the contract.
    """
    out = sys.stdout if out is None else out
    if size not in SIZES:
        raise RunnerError(f"size must be one of {', '.join(SIZES)}; got {size!r}.")
    module = _import_benchmark(name)
    _enable_x64()
    started, timestamp, t0 = _timestamps()
    raw = module.run(size)
    wall = time.perf_counter() - t0
    result = check_result(raw, where=f"{module.__name__}.run", require_figures=False)
    run_dir = new_run_dir(Path(runs_dir) / f"bench-{name}", started)
    record = {
        "kind": "benchmark",
        "name": name,
        "size": size,
        "provenance": provenance(
            config_name=f"bench-{name}",
            command=["bench", name, "--size", size],
            timestamp=timestamp,
            wall_time_s=wall,
        ),
    }
    files = _write_run(run_dir, result, record, config_toml=None)
    _report(out, result, run_dir, files, wall)
    return run_dir


# --- list --------------------------------------------------------------------------------


def _leading_comment(text: str) -> str:
    """The first line of the comment block a config file starts with."""
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped.startswith("#"):
            break
        if summary := stripped.lstrip("#").strip():
            return summary
    return ""


def _config_row(name: str) -> dict[str, str]:
    text = (CONFIG_DIR / f"{name}.toml").read_text(encoding="utf-8")
    try:
        experiment = str(tomllib.loads(text).get("experiment", "(missing)"))
    except tomllib.TOMLDecodeError:
        experiment = "(invalid TOML)"
    return {"config": name, "experiment": experiment, "description": _leading_comment(text)}


def _benchmark_row(name: str) -> dict[str, str]:
    path = Path(_benchmarks_package().__path__[0]) / f"{name}.py"
    try:  # read the docstring without importing the peers (scipy, scikit-learn, ...)
        doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
    except (OSError, SyntaxError, ValueError):
        doc = ""
    return {"benchmark": name, "description": doc.strip().split("\n", 1)[0]}


def list_text() -> str:
    """The text `python -m experiments list` prints: configs and benchmarks, described.

    Returns
    -------
    str
        Two tables; a config's description is the first line of its leading comment, a
        benchmark's the first line of its module docstring.
    """
    configs = [_config_row(name) for name in config_names()]
    benchmarks = [_benchmark_row(name) for name in benchmark_names()]
    return "\n".join(
        [
            f"Configs ({PROG} run NAME):",
            format_table(configs) if configs else "(none)",
            "",
            f"Benchmarks ({PROG} bench NAME [--size full|tiny]):",
            format_table(benchmarks) if benchmarks else "(none)",
        ]
    )


# --- CLI ---------------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Run the experiments and benchmarks of spectral-rom from their configs.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub.add_parser("list", help="list the configs and the benchmarks")
    runs_help = f"where run directories are created (default: {RUNS_DIR}/)"
    p_run = sub.add_parser(
        "run",
        help="run experiments/configs/NAME.toml",
        description="Run a config; write config.toml, results.json and figures to "
        "RUNS_DIR/NAME/<timestamp>/ and print the result table.",
    )
    p_run.add_argument("name", metavar="NAME", help="a config name, as listed by `list`")
    p_run.add_argument("--runs-dir", type=Path, default=RUNS_DIR, help=runs_help)
    p_bench = sub.add_parser(
        "bench",
        help="run the benchmark experiments/benchmarks/NAME.py",
        description="Run a benchmark against peer libraries; write results.json to "
        "RUNS_DIR/bench-NAME/<timestamp>/ and print the table.",
    )
    p_bench.add_argument("name", metavar="NAME", help="a benchmark name, as listed by `list`")
    p_bench.add_argument(
        "--size", choices=SIZES, default="full", help="problem size (default: full)"
    )
    p_bench.add_argument("--runs-dir", type=Path, default=RUNS_DIR, help=runs_help)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `python -m experiments`.

    Parameters
    ----------
    argv : Sequence[str] or None
        The arguments after the program name; `None` means `sys.argv[1:]`.

    Returns
    -------
    int
        The exit status: 0 on success, 2 for a usage error (unknown config or benchmark,
        invalid config, ...), with the message on stderr. argparse's own usage errors exit
        with 2 through `SystemExit`; errors inside an experiment propagate.
    """
    args = _parser().parse_args(argv)
    try:
        if args.command == "list":
            print(list_text())
        elif args.command == "run":
            run_experiment(args.name, runs_dir=args.runs_dir)
        else:
            run_benchmark(args.name, size=args.size, runs_dir=args.runs_dir)
    except (ConfigError, RunnerError) as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 2
    return 0
