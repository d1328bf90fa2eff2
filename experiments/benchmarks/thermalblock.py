r"""thermalblock: certified reduced basis on pyMOR's thermal block, this library against pyMOR.

The problem of `pymor-demo thermalblock 3 2 3 32`: $-\nabla\cdot(d(x, \mu)\nabla u) = 1$
on the unit square with $3 \times 2$ blocks of conductivity $\mu_q \in [0.1, 1]$, P1
elements on the crossed triangulation with $h = 1/100$ (20 201 nodes), the $H^1_0$
product, the min-theta coercivity bound. Offline: the weak greedy over the $3^6 = 729$
training parameters of a uniform grid, up to 32 basis vectors (`rom.weak_greedy`;
pyMOR's `rb_greedy` with a `CoerciveRBReductor`). Online, on 100 random test parameters
(the same for both; both number the blocks $i_x + B_x i_y$ from the bottom left):

- the largest $H^1_0$ error of the reduced solution against the full solve and the
  largest estimate (must bound it: the smallest effectivity is reported);
- the time of a reduced solve plus estimate per parameter: ours batched with `vmap` over
  the 100 parameters (total / 100) and one jitted call, pyMOR's `rom.solve(mu)` +
  `rom.estimate_error(mu)` in a loop;
- the full solve (ours: a banded sparse Cholesky in JAX, `spectral.banded_cholesky`; pyMOR: SciPy's
  sparse direct solver).

pyMOR comes from the optional extra ``pip install -e ".[pymor]"``; without it the
pyMOR rows are left out.
"""

import dataclasses
import time
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

import rom
from rom.problems import thermal_block

from ._timing import median_time


@dataclasses.dataclass(frozen=True)
class _Sizes:
    blocks: tuple[int, int]
    n: int  # 1/h
    samples_per_axis: int
    max_basis: int
    test: int
    seed: int = 0


SIZES = {
    "full": _Sizes((3, 2), 100, 3, 32, 100),
    "tiny": _Sizes((2, 2), 16, 2, 5, 10),
}


def _training(p: _Sizes) -> np.ndarray:
    Q = p.blocks[0] * p.blocks[1]
    grid = np.linspace(0.1, 1.0, p.samples_per_axis)
    return np.stack(np.meshgrid(*[grid] * Q, indexing="ij"), -1).reshape(-1, Q)


def _ours(p: _Sizes, test: np.ndarray) -> dict[str, Any]:
    model = thermal_block(p.blocks, 1.0 / p.n)
    start = time.perf_counter()
    result = rom.weak_greedy(model, jnp.asarray(_training(p)), max_basis=p.max_basis)
    greedy_s = time.perf_counter() - start
    reduced = result.reduced_model
    mus = jnp.asarray(test)

    batched = eqx.filter_jit(
        lambda r, m: jax.vmap(lambda mu: (r.solve(mu), r.estimate_error(mu)))(m)
    )
    batched_s, (coefficients, estimates) = median_time(lambda: batched(reduced, mus), 20)
    single = jax.jit(lambda mu: (reduced.solve(mu), reduced.estimate_error(mu)))
    mu0 = mus[0]  # indexed once: an eager mus[0] per call would be timed too (~0.1 ms)
    single_s, _ = median_time(lambda: single(mu0), 200)
    full = eqx.filter_jit(lambda m, mu: m.solve(mu))
    full_s, _ = median_time(lambda: full(model, mu0), 3)
    errors = np.array(
        [
            float(model.norm(full(model, mu) - reduced.reconstruct(c)))
            for mu, c in zip(mus, coefficients, strict=True)
        ]
    )
    estimates = np.asarray(estimates)
    return {
        "library": "spectral-rom",
        "dofs": model.size,
        "basis": reduced.basis.shape[1],
        "max_error": float(errors.max()),
        "max_estimate": float(estimates.max()),
        "min_effectivity": float(np.min(estimates / errors)),
        "greedy_s": greedy_s,
        "online_ms_batched": 1e3 * batched_s / len(test),
        "online_ms_single": 1e3 * single_s,
        "full_solve_ms": 1e3 * full_s,
    }


def _pymor(p: _Sizes, test: np.ndarray) -> dict[str, Any] | None:
    try:
        from pymor.algorithms.greedy import rb_greedy
        from pymor.analyticalproblems.thermalblock import thermal_block_problem
        from pymor.core.logger import set_log_levels
        from pymor.discretizers.builtin import discretize_stationary_cg
        from pymor.parameters.functionals import ExpressionParameterFunctional
        from pymor.reductors.coercive import CoerciveRBReductor
    except ImportError:
        return None
    set_log_levels({"pymor": "WARN"})
    problem = thermal_block_problem(p.blocks)
    fom, _ = discretize_stationary_cg(problem, diameter=1.0 / p.n)
    reductor = CoerciveRBReductor(
        fom,
        product=fom.h1_0_semi_product,
        coercivity_estimator=ExpressionParameterFunctional("min(diffusion)", fom.parameters),
    )
    training = [fom.parameters.parse(list(mu)) for mu in _training(p)]
    start = time.perf_counter()
    greedy = rb_greedy(fom, reductor, training, max_extensions=p.max_basis)
    greedy_s = time.perf_counter() - start
    reduced = greedy["rom"]
    mus = [fom.parameters.parse(list(mu)) for mu in test]
    start = time.perf_counter()
    estimates = []
    for mu in mus:
        reduced.solve(mu)
        estimates.append(float(reduced.estimate_error(mu)[0]))
    online_s = (time.perf_counter() - start) / len(mus)
    start = time.perf_counter()
    solutions = [fom.solve(mu) for mu in mus]
    full_s = (time.perf_counter() - start) / len(mus)
    errors = np.array(
        [
            float(fom.h1_0_semi_norm(u - reductor.reconstruct(reduced.solve(mu)))[0])
            for u, mu in zip(solutions, mus, strict=True)
        ]
    )
    estimates = np.array(estimates)
    return {
        "library": "pyMOR",
        "dofs": fom.solution_space.dim,
        "basis": reduced.solution_space.dim,
        "max_error": float(errors.max()),
        "max_estimate": float(estimates.max()),
        "min_effectivity": float(np.min(estimates / errors)),
        "greedy_s": greedy_s,
        "online_ms_batched": None,
        "online_ms_single": 1e3 * online_s,
        "full_solve_ms": 1e3 * full_s,
    }


def run(size: str) -> dict[str, Any]:
    """Run the comparison at `size` ("full" or "tiny")."""
    p = SIZES[size]
    Q = p.blocks[0] * p.blocks[1]
    test = np.random.default_rng(p.seed).uniform(0.1, 1.0, (p.test, Q))
    ours = _ours(p, test)
    theirs = _pymor(p, test)
    table = [ours] + ([theirs] if theirs else [])
    notes = [
        f"{p.blocks[0]}x{p.blocks[1]} thermal block, h = 1/{p.n}, {len(_training(p))} training "
        f"parameters (uniform grid), basis up to {p.max_basis}, {p.test} random test parameters; "
        "errors and estimates in the H1_0 semi-norm; dofs: ours are the interior unknowns, "
        "pyMOR keeps the Dirichlet nodes.",
        "online_ms_batched: reduced solve + estimate for all test parameters in one jitted "
        "vmap, per parameter; online_ms_single: one call (ours jitted).",
    ]
    if theirs:
        batched = theirs["online_ms_single"] / ours["online_ms_batched"]
        notes.append(
            f"Ours against pyMOR: online {batched:.0f}x faster batched, "
            f"{theirs['online_ms_single'] / ours['online_ms_single']:.1f}x single; "
            f"greedy {theirs['greedy_s'] / ours['greedy_s']:.2f}x; full solve "
            f"{theirs['full_solve_ms'] / ours['full_solve_ms']:.2f}x; max error ratio "
            f"{ours['max_error'] / theirs['max_error']:.2f}, max estimate ratio "
            f"{ours['max_estimate'] / theirs['max_estimate']:.2f}."
        )
    else:
        notes.append("pyMOR not compared: not installed (pip install -e '.[pymor]').")
    return {"table": table, "notes": notes}
