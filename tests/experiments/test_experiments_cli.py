"""`python -m experiments list | run | bench`: output, errors, run directories, provenance."""

import importlib.abc
import importlib.util
import json
import re
import subprocess
import sys
import types
from datetime import UTC, datetime

import jax
import pytest
from matplotlib.figure import Figure

import experiments._provenance
import experiments.quickstart
from experiments import RunnerError, main
from experiments._runner import check_result, new_run_dir
from tests.experiments.conftest import PROVENANCE_KEYS


def test_list(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert "python -m experiments run NAME" in out
    lines = {line.split()[0]: line for line in out.splitlines() if line.strip()}
    assert "quickstart" in lines
    assert "quickstart-tiny" in lines
    assert "against the exact SVD" in lines["quickstart"]  # first line of its comment
    assert "python -m experiments bench NAME" in out


def test_module_entry_point_runs():
    proc = subprocess.run(
        [sys.executable, "-m", "experiments", "list"], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert "quickstart" in proc.stdout


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["run", "nope"], "unknown config 'nope'"),
        (["run", "quickstar"], "Did you mean 'quickstart'?"),
        (["run", "../quickstart"], "unknown config '../quickstart'"),
        (["bench", "nope"], "unknown benchmark 'nope': there is no experiments/benchmarks/nope.py"),
        (["bench", "../x"], "unknown benchmark '../x'"),
        (["bench", "_private"], "unknown benchmark '_private'"),
    ],
)
def test_unknown_names_are_usage_errors(capsys, tmp_path, argv, expected):
    assert main([*argv, "--runs-dir", str(tmp_path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("python -m experiments: error: ")
    assert expected in captured.err
    if argv[0] == "run":
        available = captured.err.split("Available configs: ", 1)[1].split("\n", 1)[0]
        assert {"quickstart", "quickstart-tiny"} <= set(available.rstrip(".").split(", "))
    else:
        assert "Available benchmarks:" in captured.err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "argv", [[], ["frobnicate"], ["run"], ["bench", "x", "--size", "huge"], ["list", "extra"]]
)
def test_argparse_usage_errors(capsys, argv):
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    assert "usage: python -m experiments" in capsys.readouterr().err


def _fake_benchmark(monkeypatch, run):
    module = types.ModuleType("experiments.benchmarks.fake")
    module.run = run  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "experiments.benchmarks.fake", module)


def test_bench_writes_results_with_provenance(monkeypatch, capsys, tmp_path):
    sizes = []

    def run(size):
        sizes.append(size)
        return {
            "table": [{"method": "ours", "time_s": 0.5}, {"method": "peer", "time_s": 1.0}],
            "notes": ["ratio = peer / ours"],
        }

    _fake_benchmark(monkeypatch, run)
    assert main(["bench", "fake", "--size", "tiny", "--runs-dir", str(tmp_path)]) == 0
    assert sizes == ["tiny"]
    out = capsys.readouterr().out
    assert "method  time_s" in out
    assert "ratio = peer / ours" in out
    (run_dir,) = (tmp_path / "bench-fake").iterdir()
    assert sorted(p.name for p in run_dir.iterdir()) == ["results.json"]
    results = json.loads((run_dir / "results.json").read_text())
    assert results["kind"] == "benchmark"
    assert results["size"] == "tiny"
    assert results["table"][1] == {"method": "peer", "time_s": 1.0}
    assert PROVENANCE_KEYS <= results["provenance"].keys()
    assert results["provenance"]["command"] == ["bench", "fake", "--size", "tiny"]
    assert results["provenance"]["x64"] is True


@pytest.mark.parametrize(
    ("result", "expected"),
    [
        ({"table": [], "extra": 1}, "unknown key(s) 'extra'"),
        ({"notes": []}, "returned no 'table'"),
        ([], "must return a dict"),
        ({"table": [1, 2]}, "'table' must be a list of dicts"),
        ({"table": [], "notes": "one"}, "'notes' must be a list of strings"),
    ],
)
def test_bench_result_contract(monkeypatch, capsys, tmp_path, result, expected):
    _fake_benchmark(monkeypatch, lambda size: result)
    assert main(["bench", "fake", "--runs-dir", str(tmp_path)]) == 2
    assert expected in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


class _NeedsPeer(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds experiments.benchmarks.needs_peer, whose import fails on a missing peer."""

    def find_spec(self, fullname, path, target=None):
        if fullname == "experiments.benchmarks.needs_peer":
            return importlib.util.spec_from_loader(fullname, self)
        return None

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        raise ModuleNotFoundError("No module named 'peer_lib'", name="peer_lib")


def test_bench_missing_peer_gives_an_install_hint(monkeypatch, capsys, tmp_path):
    monkeypatch.setattr(sys, "meta_path", [_NeedsPeer(), *sys.meta_path])
    assert main(["bench", "needs_peer", "--runs-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "needs the module 'peer_lib', which is not installed" in err
    assert "pip install -e '.[bench]'" in err


def test_failed_experiment_leaves_no_run_directory(monkeypatch, tmp_path):
    def boom(cfg, *, progress):
        raise RuntimeError("diverged")

    monkeypatch.setattr(experiments.quickstart, "run", boom)
    with pytest.raises(RuntimeError, match="diverged"):
        main(["run", "quickstart-tiny", "--runs-dir", str(tmp_path)])
    assert list(tmp_path.iterdir()) == []


def test_run_directories_never_collide(tmp_path):
    started = datetime(2026, 11, 22, 18, 15, 0, 123456, tzinfo=UTC)
    first = new_run_dir(tmp_path / "quickstart", started)
    second = new_run_dir(tmp_path / "quickstart", started)
    assert first.name == "20261122-181500-123456"
    assert second.name == "20261122-181500-123456-1"


def test_experiment_result_contract():
    fig = Figure()
    ok = check_result({"table": [], "figures": {"a-b_1": fig}}, where="f", require_figures=True)
    assert ok == {"table": [], "figures": {"a-b_1": fig}, "data": {}, "notes": []}
    with pytest.raises(RunnerError, match="returned no 'figures'"):
        check_result({"table": []}, where="f", require_figures=True)
    with pytest.raises(RunnerError, match=re.escape("figure name '../x' must match")):
        check_result({"table": [], "figures": {"../x": fig}}, where="f", require_figures=True)
    with pytest.raises(RunnerError, match=re.escape("must be a matplotlib.figure.Figure; got str")):
        check_result({"table": [], "figures": {"a": "png"}}, where="f", require_figures=True)


def test_provenance_without_git(monkeypatch):
    def no_git(*args, **kwargs):
        raise FileNotFoundError("git")

    monkeypatch.setattr(experiments._provenance.subprocess, "run", no_git)
    record = experiments._provenance.provenance(
        config_name="x", command=["run", "x"], timestamp="t", wall_time_s=1.0
    )
    assert record["git_sha"] is None
    assert record["git_dirty"] is None
    assert PROVENANCE_KEYS <= record.keys()


def test_quickstart_refuses_float64_without_x64():
    jax.config.update("jax_enable_x64", False)
    cfg = experiments.quickstart.Config(
        seed=0, dtype="float64", m=20, n=10, rank=2, decay=0.5, oversample=2,
        power_iters=1, krylov_depth=1, repeats=1,
    )  # fmt: skip
    with pytest.raises(RuntimeError, match="jax_enable_x64 is off"):
        experiments.quickstart.run(cfg)
