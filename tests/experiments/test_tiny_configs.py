"""Every `experiments/configs/*-tiny.toml` runs end to end through the CLI entry point.

New experiments are picked up automatically by the glob; add a sanity check of their
numbers to `SANITY_CHECKS`.
"""

import json
import math
import tomllib

import pytest

from experiments import load_config, main
from experiments._config import CONFIG_DIR
from tests.experiments.conftest import PROVENANCE_KEYS

TINY_CONFIGS = sorted(CONFIG_DIR.glob("*-tiny.toml"))
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def check_quickstart(results: dict) -> None:
    cfg = results["config"]
    rows = {row["method"]: row for row in results["table"]}
    assert set(rows) == {"randomized_svd", "block_krylov_svd", "jnp.linalg.svd"}
    k, p, q = cfg["rank"], cfg["oversample"], cfg["power_iters"]
    r = min(cfg["m"], cfg["n"])
    # Exact truncated SVD: ||A - A_k||_2 = sigma_(k+1) exactly; in float64 the backward
    # error of the SVD and of building A is O(eps * sigma_1) = O(1e-16), so relative to
    # sigma_(k+1) = decay**k (~0.33 here) the ratio is 1 to ~1e-15. 1e-8 leaves margin.
    assert rows["jnp.linalg.svd"]["err_ratio"] == pytest.approx(1.0, abs=1e-8)
    assert rows["jnp.linalg.svd"]["max_sv_rel_err"] < 1e-8
    # Randomized methods: any rank-k matrix has ||A - B||_2 >= sigma_(k+1)
    # (Eckart-Young-Mirsky), so the ratio is >= 1 up to the rounding above (0.99 allows
    # for it). Upper bound: for U diag(S) Vh = Q [Q^T A]_k, ||A - Q[Q^T A]_k||_2 <=
    # sigma_(k+1) + ||A - Q Q^T A||_2 (Halko et al. 2011, Sec. 9.4), and with q power
    # iterations E||A - Q Q^T A||_2 <= (1 + sqrt(k/(p-1)) + e sqrt(k+p)/p sqrt(r-k))^(1/(2q+1))
    # * sigma_(k+1) (ibid., Cor. 10.10), so E[ratio] <= 1 + that factor (~2.5 for the tiny
    # config). Block Krylov at the same number of passes is at least as accurate (Musco &
    # Musco 2015). The seed is fixed; the bound 10 is ~4x the expectation, to allow for an
    # unlucky draw if the tiny config changes.
    factor = (1 + math.sqrt(k / max(p - 1, 1)) + math.e * math.sqrt(k + p) / max(p, 1)
              * math.sqrt(r - k)) ** (1 / (2 * q + 1))  # fmt: skip
    assert 1 + factor < 10
    for method in ("randomized_svd", "block_krylov_svd"):
        row = rows[method]
        assert 0.99 <= row["err_ratio"] <= 10, method
        # The k singular values of Q^T A are at most sigma_i (a compression) and converge
        # like (sigma_(l+1)/sigma_i)^(4q+2); with the tiny config's gap this is far below
        # 1e-2 (~1e-6 observed); 5e-2 only catches a broken method.
        assert 0 <= row["max_sv_rel_err"] < 5e-2, method
        assert row["passes"] == 6
        assert row["time_s"] > 0
        assert row["first_call_s"] > 0
    assert rows["jnp.linalg.svd"]["passes"] is None
    assert len(results["data"]["S_randomized_svd"]) == k
    assert results["figures"] == ["singular_values.png"]


def check_fang2024(results: dict) -> None:
    (row,) = results["table"]
    assert (row["problem"], row["kernel"], row["points"]) == ("poisson1d-sin100", "student_t", 400)
    # GP-HM on sin(100x) after 600 of the paper's 100 000 Adam steps: 0.062 measured (the
    # authors' code logs 0.069 after 8 000 steps). A method that does not learn the
    # frequency stays near 1 (the plain kernels reach 0.03 only after 100 000 steps).
    assert row["best"] < 0.2
    errors = results["data"]["errors"]["student_t/400"]
    assert len(errors) == 3
    assert errors[-1] < errors[0]
    assert row["paper"] == pytest.approx(6.53e-7)
    assert row["ms_per_step"] > 0


SANITY_CHECKS = {"quickstart": check_quickstart, "fang2024": check_fang2024}


def test_there_are_tiny_configs():
    assert TINY_CONFIGS, f"no *-tiny.toml in {CONFIG_DIR}"


def test_every_experiment_has_a_tiny_config():
    def experiment(path):
        return tomllib.loads(path.read_text(encoding="utf-8")).get("experiment")

    all_experiments = {experiment(p) for p in CONFIG_DIR.glob("*.toml")}
    assert all_experiments <= {experiment(p) for p in TINY_CONFIGS}


@pytest.mark.parametrize("path", TINY_CONFIGS, ids=lambda p: p.stem)
def test_tiny_config_runs_end_to_end(path, tmp_path, capsys):
    name = path.stem
    assert main(["run", name, "--runs-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out

    (run_dir,) = (tmp_path / name).iterdir()
    files = sorted(p.name for p in run_dir.iterdir())
    assert not [f for f in files if f.startswith(".")]  # no temporary files left
    assert "config.toml" in files
    assert "results.json" in files
    pngs = [f for f in files if f.endswith(".png")]
    assert pngs
    for png in pngs:
        assert (run_dir / png).read_bytes().startswith(PNG_SIGNATURE)

    # config.toml is the config as run: it loads back into the same Config.
    assert load_config(run_dir / "config.toml").config == load_config(name).config

    results = json.loads((run_dir / "results.json").read_text(encoding="utf-8"))
    assert results["kind"] == "experiment"
    assert results["name"] == name
    assert sorted(results["figures"]) == pngs
    provenance = results["provenance"]
    assert PROVENANCE_KEYS <= provenance.keys()
    assert provenance["config_name"] == name
    assert provenance["x64"] is True
    assert provenance["wall_time_s"] > 0
    assert provenance["devices"]
    assert {"jax", "jaxlib", "numpy", "equinox"} <= provenance["versions"].keys()
    assert results["table"]
    assert all(isinstance(row, dict) for row in results["table"])

    # The table was printed, with every column of the first row in the header.
    header = out.splitlines()[0].split()
    assert header == list(results["table"][0])
    assert str(run_dir) in out

    SANITY_CHECKS.get(results["experiment"], lambda results: None)(results)
