"""Benchmarks: this library against its peers on the same inputs, in one process.

`python -m experiments bench NAME [--size full|tiny]` imports
`experiments.benchmarks.NAME` and calls its `run(size)`. Benchmarks are not tests: they
measure, they do not assert.

Contract
--------
A module `experiments/benchmarks/<name>.py` (a public module name; files starting with
`_` are helpers) defines::

    def run(size: str) -> dict: ...

- `size` is `"full"` (the published comparison; may take minutes) or `"tiny"` (a smoke
  run of a few seconds).
- The returned dict has the keys

  - `"table"` (required): `list[dict[str, scalar]]`, one row per (method, problem), column
    name to `str`, `int`, `float`, `bool` or `None`; typically the library and peer
    names, times, accuracies and ratios. The runner prints it with
    `experiments.format_table` and stores it in `results.json`.
  - `"notes"` (optional): `list[str]`, printed under the table (what the columns mean,
    which peer versions, caveats).
  - `"data"` (optional): a JSON-able dict of anything else worth keeping.
  - `"figures"` (optional): `dict[str, matplotlib.figure.Figure]`, saved as PNG.

  Any other key is an error.
- The runner enables `jax_enable_x64` before calling `run`; pick dtypes explicitly. Time
  JAX calls after a warm-up (compilation) and with `jax.block_until_ready`.
- Peers (SciPy, scikit-learn, ...) come from the optional `bench` extra. Import them inside
  the module (not in the package `__init__`), so that `list` works without them; the
  runner reports a missing peer as an install hint. The module docstring's first line is
  the benchmark's description in `python -m experiments list`.

The runner writes `runs/bench-NAME/<timestamp>/results.json` (atomically) with the table,
notes, data, `size` and the same provenance as an experiment run (git SHA, versions,
backend, devices, x64 flag, timestamp, wall time).
"""
