"""Every benchmark in `experiments/benchmarks` runs at size tiny through the CLI entry point.

New benchmarks are picked up by `benchmark_names()`; add a sanity check of their numbers to
`SANITY_CHECKS`. Benchmarks measure and do not assert, so the checks here only catch a
broken method (a wrong result, a missing row), never a slow one.
"""

import json

import jax
import numpy as np
import pytest

from experiments import main
from experiments._runner import benchmark_names
from experiments.benchmarks import cur, matfun, rsvd
from experiments.benchmarks._timing import interleaved_median_times
from spectral import matfun as spectral_matfun
from tests.experiments.conftest import PROVENANCE_KEYS

MATFUN_METHODS = ("eigh", "newton_schulz", "denman_beavers", "taylor", "pade")
TRUNCATED = ("taylor", "pade")


def check_matfun(results: dict) -> None:
    # Every method keeps the float32 of its input (none promotes to float64 under x64).
    assert {row["dtype"] for row in results["table"] if row["function"] != "polar"} == {"float32"}
    rows = {(row["function"], row["method"], row["dtype"]): row for row in results["table"]}
    for function in ("sqrtm", "inv_sqrtm"):
        for method in MATFUN_METHODS:
            row = rows[(function, method, "float32")]
            assert row["fwd_bwd_s"] > 0
            assert 0 < row["fwd_bwd_min_s"] <= row["fwd_bwd_s"]  # fastest call <= median
            assert row["speedup_vs_eigh"] > 0
        assert rows[(function, "eigh", "float32")]["speedup_vs_eigh"] == 1.0
        # The eigh, Taylor and Pade paths with OpenBLAS's default threads, each against the
        # eigh path with default threads.
        default = {
            m: rows[(function, f"{m} (default BLAS threads)", "float32")]
            for m in ("eigh", *TRUNCATED)
        }
        assert default["eigh"]["speedup_vs_eigh"] == 1.0
        for m in TRUNCATED:
            assert default[m]["speedup_vs_eigh"] == pytest.approx(
                default["eigh"]["fwd_bwd_s"] / default[m]["fwd_bwd_s"]
            )
        # The tiny problem is 8 x 8 with kappa = 10 in float32. The eigh path and the
        # iterations (10 steps, from lambda_min / c >= 1 / (10 sqrt(8)), enough for the
        # quadratic phase) are accurate to a small multiple of n * kappa * eps = 1e-5
        # (observed ~1e-7); so is the derivative's Lyapunov solve (Smith's, converged).
        # 1e-4 leaves margin.
        for method in ("eigh", "newton_schulz", "denman_beavers"):
            row = rows[(function, method, "float32")]
            assert row["fwd_err"] < 1e-4, (function, method)
            assert row["grad_err"] < 1e-4, (function, method)
        # Taylor (degree 10) and Pade ([5, 5]) are truncations: at kappa = 10 their error is
        # the scalar truncation error at z = 1 - lambda_min / c, a few percent for Taylor
        # and ~1e-3 for Pade (spectral.matfun's docstring table; observed 1.5e-2 / 9.5e-4
        # for sqrtm, 1.2e-1 / 2.9e-3 for inv_sqrtm). 0.3 only catches a broken method. The
        # rational approximant is the more accurate near z = 1, the branch point of
        # sqrt(1 - z) where the error is largest (so in every row of that table).
        taylor, pade = rows[(function, "taylor", "float32")], rows[(function, "pade", "float32")]
        for row in (taylor, pade):
            assert 0 < row["fwd_err"] < 0.3, (function, row["method"])
            assert 0 < row["grad_err"] < 0.3, (function, row["method"])
        assert pade["fwd_err"] < taylor["fwd_err"], function
        # The same forwards with the paper's Newton-Schulz Lyapunov backward (timed at the
        # variant cell): the same values, and the same gradients as the default Smith solve
        # (both the derivative of the exact function at the computed X, converged to
        # float32 rounding).
        for m, default in zip(TRUNCATED, (taylor, pade), strict=True):
            row = rows[(function, f"{m} (backward='newton_schulz')", "float32")]
            assert row["fwd_bwd_s"] > 0
            np.testing.assert_allclose(row["fwd_err"], default["fwd_err"], rtol=1e-3)
            np.testing.assert_allclose(row["grad_err"], default["grad_err"], rtol=1e-2)
        # ... and with backward="autodiff": the same values; gradients of the computed
        # approximations, whose error is the derivative of the truncation error, up to ~K
        # times the forward error near z = 1 (observed 0.11 / 0.011 for sqrtm, 0.56 / 0.025
        # for inv_sqrtm). Below 1 only catches a broken path.
        autodiff = [rows[(function, f"{m} (backward='autodiff')", "float32")] for m in TRUNCATED]
        for row, default in zip(autodiff, (taylor, pade), strict=True):
            assert row["fwd_bwd_s"] > 0
            np.testing.assert_allclose(row["fwd_err"], default["fwd_err"], rtol=1e-3)
            assert 0 < row["grad_err"] < 1, (function, row["method"])
        assert autodiff[1]["grad_err"] < autodiff[0]["grad_err"], function
    # jax.scipy.linalg.sqrtm (Schur, complex64): accurate to working precision; forward only;
    # it has no GPU/TPU lowering, so the benchmark runs it on CPU backends alone.
    peer = rows.get(("sqrtm", "jax.scipy.linalg.sqrtm", "float32"))
    assert (peer is not None) == (jax.default_backend() == "cpu")
    if peer is not None:
        assert peer["fwd_s"] > 0
        assert peer["fwd_bwd_s"] is None
        assert peer["fwd_err"] < 1e-4

    polar = [row for row in results["table"] if row["function"] == "polar"]
    assert {(row["method"].split()[0], row["dtype"]) for row in polar} == {
        ("svd", "float32"),
        ("newton_schulz", "float32"),
        ("newton_schulz", "bfloat16"),
    }
    for row in polar:
        assert row["fwd_s"] > 0
        if row["method"].startswith("svd"):
            # The exact polar factor in float32: orthonormal to ~sqrt(n) eps.
            assert row["orth_err"] < 1e-5
            assert row["fwd_err"] < 1e-5
        else:
            # Muon's coefficients leave the singular values in roughly [0.7, 1.2] after 5
            # steps (spectral.polar's docstring), plus ~1e-2 of bfloat16 rounding; 0.5 only
            # catches a broken iteration (sigma near 0, or beyond 1.5).
            assert row["orth_err"] < 0.5, row["dtype"]
            assert row["steps_per_s"] == pytest.approx(5 / row["fwd_s"])
    assert results["data"]["criterion_met"] is None  # batch 64, n = 64 is not in tiny
    assert any(note.startswith("Acceptance criterion") for note in results["notes"])


def check_kronecker(results: dict) -> None:
    rows = results["table"]
    assert {row["dims"] for row in rows} == {2, 3}
    for row in rows:
        assert row["kron_s"] > 0
        assert row["M"] == np.prod([int(m) for m in row["grid"].split(" x ")])
        # Every tiny grid fits the dense oracle. Both sides are exact to rounding amplified
        # by kappa(K + 1e-2 I) <= 1 + M / 1e-2 ~ 1e4: 1e-10 leaves margin.
        assert row["dense_s"] > 0
        assert row["solve_rel_err"] < 1e-10
        assert row["logdet_rel_err"] < 1e-10
    assert results["data"]["exponent_2d"] is not None
    assert results["data"]["exponent_3d"] is None  # one 3-D grid in tiny: no fit
    (fit,) = results["data"]["fit_step"]
    assert fit["ours_s"] > 0
    if fit["gpytorch_s"] is not None:  # GPyTorch installed: the same exact NLL and gradient
        # both exact in float64 on an 8 x 8 grid; 4e-16 and 4e-15 measured
        assert fit["nll_rel_diff"] < 1e-10
        assert fit["grad_rel_diff"] < 1e-8


def check_cur(results: dict) -> None:
    rows = results["table"]
    k = cur.SIZES["tiny"].rank
    scipy_rows = [row for row in rows if row["library"] == "scipy"]
    falls_back = results["data"]["scipy_rand_falls_back"]
    assert isinstance(falls_back, bool)
    assert len(scipy_rows) == (2 if falls_back else 3)  # + rand=False where rand=True is random
    assert rows[0] is scipy_rows[0]
    assert rows[0]["method"].startswith("interp_decomp(A, k)")
    assert rows[0]["speedup_vs_scipy"] == 1.0
    assert any(row["method"] == "interp_decomp(LinearOperator, k)" for row in scipy_rows)
    methods = {(row["method"], row["basis"], row["core"], row["c"]) for row in rows}
    for method in ("deim", "qdeim"):
        for basis in ("randomized", "exact"):  # tiny also times the exact basis
            assert (f"cur {method}", basis, "pinv", k) in methods
    assert ("cur deim", "randomized", "cross", k) in methods
    assert ("cur leverage", "randomized", "pinv", k) in methods
    assert ("cur leverage", "randomized", "pinv", 2 * k) in methods
    assert ("cur uniform", None, "pinv", k) in methods  # uniform uses no basis
    assert ("cur volume", "exact", "pinv", k) in methods  # k-DPPs from A's SVD
    assert ("interpolative", "randomized", None, k) in methods
    assert ("interpolative", "exact", None, k) in methods
    for row in rows:
        assert row["time_s"] > 0
        assert row["speedup_vs_scipy"] == pytest.approx(rows[0]["time_s"] / row["time_s"])
        assert np.isfinite(row["error_ratio"])
        # Eckart-Young: nothing of rank <= k beats A_k. Every row but the c = r = 2k one has
        # rank <= k. The ratio is exact up to rounding (the residual, ~1e-2 of ||A||_F, is
        # accurate to ~1e-13 relative; A's singular values are the prescribed ones to
        # ~eps ||A|| = 4e-16), so 1e-9 leaves margin.
        if row["c"] == k:
            assert row["error_ratio"] >= 1 - 1e-9, row["method"]
        # Sorensen & Embree (2016), Thm. 4.1, in the Frobenius norm and for any index sets:
        # ||A - C C^+ A R^+ R||_F <= (eta_q + eta_p) ||A - A_k||_F, and a least-squares column
        # ID obeys eta_q alone, with eta from A's exact singular vectors (known from the
        # construction; they are A's own to ~eps ||A|| / (sigma_k - sigma_{k+1}) = 3e-14).
        # A mathematical bound, so only rounding needs margin: 1e-6 relative. A method
        # breaking it (a wrong core, indices not matching C and R) is broken.
        if row["bound"] is not None:
            assert row["error_ratio"] <= row["bound"] * (1 + 1e-6), row["method"]
    # The bounded rows: every pinv-core CUR, this library's ID and SciPy's pivoted-QR ID
    # (orthogonal projection onto its columns); not the cross core or SciPy's sketched ID.
    for row in rows:
        bounded = row["core"] == "pinv" or row["method"] == "interpolative"
        if row["library"] == "scipy":
            bounded = "pivoted QR" in row["method"] or "rand=False" in row["method"]
        assert (row["bound"] is not None) == bounded, row["method"]


def check_thermalblock(results: dict) -> None:
    rows = {row["library"]: row for row in results["table"]}
    ours = rows["spectral-rom"]
    # The 2 x 2 block at h = 1/16 has (16 - 1)^2 + 16^2 interior unknowns (crossed mesh).
    assert ours["dofs"] == 15**2 + 16**2
    assert ours["basis"] == 5
    # The estimator is a rigorous bound (effectivity >= 1, up to the CG tolerance), and with
    # 5 of 16 training snapshots the error is far below the solution's H1_0 norm (~0.3-0.6
    # observed; the estimator is at most ~10x the error at this contrast).
    assert ours["min_effectivity"] >= 1 - 1e-6
    assert 0 < ours["max_error"] <= ours["max_estimate"] < 10 * ours["max_error"]
    for column in ("greedy_s", "online_ms_batched", "online_ms_single", "full_solve_ms"):
        assert ours[column] > 0
    if "pyMOR" in rows:  # only where the pymor extra is installed
        theirs = rows["pyMOR"]
        assert theirs["min_effectivity"] >= 1 - 1e-6
        # Same problem, same training set and greedy: errors within a factor 3.
        assert 1 / 3 < ours["max_error"] / theirs["max_error"] < 3


def check_svd_update(results: dict) -> None:
    from experiments.benchmarks import svd_update

    p = svd_update.SIZES["tiny"]
    rows = results["table"]
    cells = {(row["m"], row["s"]) for row in rows}
    assert cells == {(m, s) for m in p.heights for s in p.widths}
    for cell in cells:
        by = {row["method"]: row for row in rows if (row["m"], row["s"]) == cell}
        # The tiny budgets admit every method.
        assert set(by) == {
            "sparse",
            "sparse (no donation)",
            "zha-simon",
            "gkl",
            "rpi",
            "recompute (randomized_svd)",
        }
        recompute, zha_simon = by["recompute (randomized_svd)"], by["zha-simon"]
        for row in by.values():
            assert row["time_s"] > 0
            # Every method returns U S Vh = a projection of [A, E] (or of [A_k, E], whose
            # remainder [A - A_k, 0] is orthogonal to it): 0 < residual < ||M||_F.
            assert 0 < row["rel_residual"] < 1, row["method"]
            assert row["res_vs_recompute"] == pytest.approx(
                row["rel_residual"] / recompute["rel_residual"]
            )
            assert row["speedup_vs_recompute"] == pytest.approx(recompute["time_s"] / row["time_s"])
            assert row["speedup_vs_zha_simon"] == pytest.approx(zha_simon["time_s"] / row["time_s"])
        # The sparse update and Zha-Simon are the same exact augmentation: equal residuals
        # to rounding (observed ~1e-15; the Gram form squares cond(X) ~ 10); 1e-8.
        assert by["sparse"]["rel_residual"] == pytest.approx(zha_simon["rel_residual"], rel=1e-8)
        assert by["sparse (no donation)"]["rel_residual"] == by["sparse"]["rel_residual"]
        assert isinstance(by["sparse"]["flushes"], int)
        # GKL and RPI use part of Zha-Simon's augmented space: never a smaller residual.
        for method in ("gkl", "rpi"):
            assert by[method]["rel_residual"] >= zha_simon["rel_residual"] * (1 - 1e-12)
        # The update keeps only the rank-k part of A; on the tiny problem (flat spectrum) all
        # residuals agree to ~1e-4 (observed res_vs_recompute 1.0000); 1% is the bar.
        assert by["sparse"]["res_vs_recompute"] < 1.01
    (verdict,) = results["data"]["criterion"]  # the largest height, one width
    assert {"m", "s", "vs_recompute", "res_vs_recompute", "met"} <= verdict.keys()
    assert any(note.startswith("Criterion at m =") for note in results["notes"])


def check_mps(results: dict) -> None:
    rows = results["table"]
    data = results["data"]
    by = {(row["table"], row["case"], row["n"]): row for row in rows}
    for n in (8, 12):
        # The analytic bonds: the cusp (bond 3), e^{-zeta x} (1), x e^{-zeta x} (d + 1 = 2).
        assert by[(1, "sto_1d x2", n)]["chi"] == 3
        assert by[(1, "exp_mps", n)]["chi"] == 1
        assert by[(1, "poly_exp_mps d=1", n)]["chi"] == 2
        # Against the exact Riemann sums (geometric series): roundoff only. Overlaps and the
        # gradient form are ~n eps to ~eps / h (h = 1/8 at n = 12: < 1e-13 with margin); the
        # laplacian form loses ~eps / h^2 ~ 1e-10 at n = 12 (observed 5e-10 at n = 15).
        for case in ("overlap", "kinetic gradient", "exp_mps", "poly_exp_mps d=1"):
            assert by[(1, case, n)]["err_riemann"] < 1e-12, (case, n)
        assert by[(1, "kinetic laplacian", n)]["err_riemann"] < 1e-8
        # Against the continuum: the O(h^2) discretization error, whose leading term the
        # benchmark derives; it dominates the next order by ~1 / h^2, so within 10%.
        lead = data["leading_errors"][str(n)]
        assert by[(1, "overlap", n)]["err_closed"] == pytest.approx(lead["S"], rel=0.1)
        for form in ("laplacian", "gradient"):
            assert by[(1, f"kinetic {form}", n)]["err_closed"] == pytest.approx(lead["T"], rel=0.1)
    # TT-SVD of the dense samples finds the ranks of the rounded analytic MPS, and the
    # analytic MPS equals NumPy's samples to rounding (values <= 1).
    dense = by[(2, "tt_svd x2", 8)]
    assert dense["ranks_ok"] is True
    assert dense["chi"] == 3
    assert dense["max_diff"] < 1e-13
    # 3-D: TT-cross and TT-SVD of the dense grid give the same ranks and the same state.
    for orbital in ("1s", "2s"):
        cross, svd = by[(3, f"{orbital} tt_cross", 9)], by[(3, f"{orbital} tt_svd", 9)]
        assert cross["ranks_ok"] is True
        assert cross["chi"] == svd["chi"]
        assert cross["max_diff"] < 1e-10
        assert svd["evals"] == 2**9


def check_rsvd(results: dict) -> None:
    rows = results["table"]
    assert {row["problem"] for row in rows} == {"a: dense", "c: heights", "b: sparse"}
    # The tiny problems decay fast: every method reaches sigma_{k+1} up to a few percent.
    for row in rows:
        assert row["time_s"] > 0
        assert 0.99 <= row["error_vs_opt"] <= 1.1, row
    heights = results["data"]["heights"]
    assert sorted(map(int, heights)) == list(rsvd.SIZES["tiny"].heights)
    for ell, entry in heights.items():
        # The form the notes say the library uses is the one `rows_times` picks.
        assert entry["form_used"] == ("left-T" if 61 <= int(ell) <= 128 else "NN")
        assert set(entry["t_product_ms"]) == {"NN", "left-T"}
        assert entry["t_ours_one_blas_thread_s"] > 0
    height_rows = [row for row in rows if row["problem"] == "c: heights"]
    assert len(height_rows) == 2 * len(heights)
    for ours, peer in zip(height_rows[::2], height_rows[1::2], strict=True):
        assert ours["method"].startswith("spectral.randomized_svd")
        assert peer["method"].startswith("sklearn")
        assert peer["speedup_vs_sklearn"] == 1.0


SANITY_CHECKS = {
    "rsvd": check_rsvd,
    "matfun": check_matfun,
    "kronecker": check_kronecker,
    "cur": check_cur,
    "thermalblock": check_thermalblock,
    "svd_update": check_svd_update,
    "mps": check_mps,
}


def test_matfun_states_the_library_defaults():
    """The defaults the matfun benchmark's notes state are the ones it runs with."""
    assert matfun.LIBRARY_DEFAULTS["iters"] == spectral_matfun._DEFAULT_ITERS
    assert matfun.LIBRARY_DEFAULTS["degree"] == spectral_matfun._DEFAULT_DEGREE
    assert matfun.LIBRARY_DEFAULTS["backward_iters"] == spectral_matfun.DEFAULT_LYAPUNOV_ITERS
    assert matfun.LIBRARY_DEFAULTS["backward"] == spectral_matfun._DEFAULT_BACKWARD


def test_there_are_benchmarks():
    assert {"cur", "kronecker", "matfun", "rsvd", "thermalblock"} <= set(benchmark_names())


@pytest.mark.slow
@pytest.mark.parametrize("name", benchmark_names())
def test_tiny_benchmark_runs_end_to_end(name, tmp_path, capsys):
    assert main(["bench", name, "--size", "tiny", "--runs-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out

    (run_dir,) = (tmp_path / f"bench-{name}").iterdir()
    files = sorted(p.name for p in run_dir.iterdir())
    assert not [f for f in files if f.startswith(".")]  # no temporary files left
    assert "results.json" in files

    results = json.loads((run_dir / "results.json").read_text(encoding="utf-8"))
    assert results["kind"] == "benchmark"
    assert results["name"] == name
    assert results["size"] == "tiny"
    provenance = results["provenance"]
    assert PROVENANCE_KEYS <= provenance.keys()
    assert provenance["command"] == ["bench", name, "--size", "tiny"]
    assert provenance["x64"] is True
    assert results["table"]
    assert all(isinstance(row, dict) for row in results["table"])

    # The table was printed, with every column of the first row in the header.
    header = out.splitlines()[0].split()
    assert header == list(results["table"][0])
    assert str(run_dir) in out

    SANITY_CHECKS.get(name, lambda results: None)(results)


def test_interleaved_timing_calls_everything_in_varying_orders():
    # One warm-up call each, then `repeats` rounds, each a permutation of all the functions:
    # not always the same one (so no function always follows the same neighbour), and the
    # same sequence again for the same seed.
    def record(seed):
        calls = []
        fns = {name: (lambda name=name: calls.append(name)) for name in "abcde"}
        times = interleaved_median_times(fns, 8, seed=seed)
        assert set(times) == set("abcde")
        assert all(t >= 0 for t in times.values())
        return calls

    calls = record(0)
    assert calls[:5] == list("abcde")  # the warm-up calls
    rounds = [calls[5 + 5 * r : 10 + 5 * r] for r in range(8)]
    assert len(calls) == 5 + 8 * 5
    assert all(sorted(r) == list("abcde") for r in rounds)
    assert len({tuple(r) for r in rounds}) > 1
    assert record(0) == calls
