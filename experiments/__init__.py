r"""`experiments`: reproducible experiments and benchmarks, run from TOML configs.

Command line
------------
::

    python -m experiments list
    python -m experiments run NAME [--runs-dir DIR]
    python -m experiments bench NAME [--size full|tiny] [--runs-dir DIR]

`list` prints the configs (with their experiment and summary) and the benchmarks.
`run NAME` runs `experiments/configs/NAME.toml` and writes `DIR/NAME/<timestamp>/`
(default `DIR` is `runs`, relative to the working directory; the timestamp is the UTC start
time, `YYYYmmdd-HHMMSS-ffffff`). `bench NAME` runs `experiments/benchmarks/NAME.py` and
writes `DIR/bench-NAME/<timestamp>/`. Both enable `jax_enable_x64` before running (the
config's `dtype` decides the precision actually used), print the result table to stdout
and progress bars to stderr. A usage error (unknown config or benchmark, invalid config)
prints a message naming the problem and the alternatives, and exits with status 2.

Configs
-------
`experiments/configs/NAME.toml` is a flat TOML file. The key `experiment = "quickstart"`
names the module `experiments/quickstart.py`; every other key sets the field of that
module's `Config` of the same name. Unknown keys, missing required keys and values of the
wrong type are errors naming the key and the file. Supported field types: `bool`, `int`,
`float` (an integer is accepted), `str`, `Literal[...]`, `list[T]`, `tuple[T, ...]` and
unions with `None`. The comment lines at the top of the file describe it; the first is
its summary in `list`. Each experiment has `NAME.toml` (laptop scale) and
`NAME-tiny.toml` (seconds; the test suite runs every `*-tiny.toml` end to end).

Experiment contract
-------------------
A module `experiments/<name>.py` defines

- `Config`: a frozen dataclass holding every number that affects the result, including
  `seed` (keys are derived as `jax.random.fold_in(jax.random.key(cfg.seed), STREAM)` for
  named integer constants `STREAM`) and `dtype`; `__post_init__` may reject bad values
  with `ValueError` (reported as a config error naming the file).
- `run(cfg, *, progress=no_progress) -> dict`: a pure function of `cfg` that wraps its
  long loops as `for x in progress(items, desc="..."):` (see `Progress`; the CLI passes a
  `tqdm` bar) and returns a dict with the keys

  - `"table"` (required): `list[dict[str, scalar]]`, one dict per row, column name to a
    `str`, `int`, `float`, `bool` or `None`; printed with `format_table` and stored.
  - `"figures"` (required, may be empty): `dict[str, matplotlib.figure.Figure]`, saved as
    `<name>.png` (names match `[A-Za-z0-9][A-Za-z0-9_-]*`). Build figures with
    `matplotlib.figure.Figure()` rather than `pyplot`, so nothing global is touched.
  - `"data"` (optional): a JSON-able dict (NumPy/JAX arrays allowed) such as the numbers
    behind the figures, so that they can be redrawn.
  - `"notes"` (optional): `list[str]`, printed under the table (what the columns mean).

  Any other key is an error. `run` must not enable x64 itself nor write files.

Benchmark contract
------------------
A module `experiments/benchmarks/<name>.py` defines `run(size: str) -> dict` for
`size` in `{"full", "tiny"}`, returning the same dict as an experiment except that
`"figures"` is optional (`"table"` required; `"notes"`, `"data"`, `"figures"` optional).
See `experiments.benchmarks`.

Outputs
-------
A run directory holds the figures (`<name>.png`), `config.toml` (experiments only: every
field of the `Config`, defaults included, plus `experiment`; it loads back into the same
`Config`) and `results.json`, written last, with the keys `kind` (`"experiment"` or
`"benchmark"`), `name`, `experiment`/`size`, `config`, `table`, `notes`, `data`,
`figures` (file names) and `provenance`: `config_name`, `command`, `timestamp` (ISO 8601,
UTC), `wall_time_s`, `git_sha` and `git_dirty` (`None` outside a git checkout), `python`,
`python_implementation`, `platform`, `versions` (jax, jaxlib, numpy, equinox, matplotlib,
tqdm, spectral-rom), `backend`, `devices` (device kinds) and `x64`. Non-finite floats are
stored as the strings `"NaN"`, `"Infinity"`, `"-Infinity"` (strict JSON).

Every file is written atomically (a temporary file in the same directory, then
`os.replace`), so an interrupted run never leaves a half-written file; a run directory
without `results.json` is an interrupted run.
"""

from ._config import ConfigError as ConfigError, load_config as load_config
from ._progress import Progress as Progress, no_progress as no_progress
from ._runner import (
    RunnerError as RunnerError,
    format_table as format_table,
    main as main,
    run_benchmark as run_benchmark,
    run_experiment as run_experiment,
)

__all__ = [
    "ConfigError",
    "Progress",
    "RunnerError",
    "format_table",
    "load_config",
    "main",
    "no_progress",
    "run_benchmark",
    "run_experiment",
]
