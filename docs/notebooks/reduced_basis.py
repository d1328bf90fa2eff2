# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Certified reduced bases: the thermal block
#
# A parametrized PDE solved for many parameter values (design, uncertainty quantification,
# control) repeats almost the same work each time: the solutions $u(\mu)$ of a
# well-behaved problem lie close to a low-dimensional subspace of the finite element
# space. The **reduced basis method** finds that subspace once, offline, from a few full
# solves, and then solves for any new $\mu$ in that subspace at a cost independent of the
# mesh, with an **a posteriori error bound** that certifies every reduced answer. This
# notebook walks through it on pyMOR's classic benchmark:
#
# 1. the full-order model: P1 finite elements for the thermal block;
# 2. snapshots and POD: how fast does the best linear approximation converge?
# 3. Galerkin projection and the residual-based error estimator;
# 4. the weak greedy: build the basis from the estimator, not from thousands of solves;
# 5. certification on test parameters, and online speed.
#
# References: Patera & Rozza (2007), Haasdonk (2017), Binev et al. (2011) for the greedy,
# Buhr, Engwer, Ohlberger & Rave (2014) for the stable estimator; the problem is pyMOR's
# `thermal_block_problem`. The notebook enables float64 and runs in about a minute.

# %%
# %matplotlib inline
import time

import equinox as eqx
import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.tri import Triangulation

import rom
from rom.problems import thermal_block, unit_square_mesh

jax.config.update("jax_enable_x64", True)

# %% [markdown]
# ## 1. The full-order model
#
# $-\nabla\cdot(d(x, \mu)\nabla u) = 1$ on the unit square, $u = 0$ on its boundary, with
# $2 \times 2$ blocks of conductivity $\mu_q \in [0.1, 1]$. The stiffness matrix is affine,
# $A(\mu) = \sum_q \mu_q A_q$ with $A_q$ assembled over the elements of block $q$; the
# energy product $X = \sum_q A_q$ is the $H^1_0$ semi-norm, and since each $A_q$ is
# positive semidefinite, $\alpha(\mu) \ge \min_q \mu_q$ bounds the coercivity constant.

# %%
n_mesh = 32
model = thermal_block((2, 2), 1 / n_mesh)
nodes, triangles = unit_square_mesh(n_mesh)
interior = ~(np.isclose(nodes, 0).any(1) | np.isclose(nodes, 1).any(1))
print(f"{len(nodes)} nodes, {model.size} unknowns, {model.indices.shape[0]} nonzeros")

solve = eqx.filter_jit(lambda m, mu: m.solve(mu))


def as_field(u):
    """Values on all nodes (zero on the boundary) for plotting."""
    full = np.zeros(len(nodes))
    full[interior] = np.asarray(u)
    return full


fig, axes = plt.subplots(1, 3, figsize=(12, 3.4))
tri = Triangulation(nodes[:, 0], nodes[:, 1], triangles)
for ax, mu in zip(axes, ([1, 1, 1, 1], [0.1, 1, 1, 0.1], [1, 0.1, 0.1, 1]), strict=True):
    field = ax.tripcolor(tri, as_field(solve(model, jnp.asarray(mu, float))), shading="gouraud")
    ax.set_title(f"mu = {mu}")
    ax.set_aspect("equal")
    fig.colorbar(field, ax=ax)
plt.show()

# %% [markdown]
# Low conductivity in a block traps the heat there: the solution changes shape with
# $\mu$, not just its size.
#
# ## 2. Snapshots and POD
#
# How well can *any* $N$-dimensional space approximate all solutions? The POD of many
# snapshots, in the energy product, answers it for the snapshot set: its singular values
# measure the error of the best $N$-dimensional subspace.

# %%
rng = np.random.default_rng(0)
snapshot_mus = jnp.asarray(rng.uniform(0.1, 1.0, (100, 4)))
snapshots = jnp.stack([solve(model, mu) for mu in snapshot_mus], axis=1)
pod = rom.pod(snapshots, rank=40, inner_product=model.product)
plt.figure(figsize=(5, 3.2))
plt.semilogy(np.arange(1, 41), pod.singular_values / pod.singular_values[0], "o-", ms=3)
plt.xlabel("N")
plt.ylabel(r"$\sigma_N / \sigma_1$")
plt.title("POD of 100 snapshots (H1_0 product)")
plt.show()

# %% [markdown]
# The singular values fall exponentially: 20 to 30 modes reproduce every snapshot to
# $10^{-8}$ relative. POD needed 100 full solves to see this; the greedy below needs one
# per basis vector.
#
# ## 3. Galerkin projection and the error estimator
#
# With an $X$-orthonormal basis $V$, the reduced model solves $\sum_q \mu_q (V^\top A_q V) c
# = V^\top f$: $N \times N$ matrices projected once. Its error is bounded by
#
# $$\lVert u(\mu) - Vc(\mu)\rVert_X \le \Delta(\mu) = \frac{\lVert f - A(\mu)Vc\rVert_{X^{-1}}}
# {\min_q \mu_q},$$
#
# and the dual norm of the residual is computable online from $1 + QN$ Riesz
# representatives $X^{-1} f$, $X^{-1} A_q v_j$ prepared offline. Take the first 10 POD
# modes as a basis:

# %%
reduced = rom.galerkin(model, pod.modes[:, :10])
test_mus = jnp.asarray(rng.uniform(0.1, 1.0, (30, 4)))
errors, estimates = [], []
for mu in test_mus:
    c = reduced.solve(mu)
    errors.append(float(model.norm(solve(model, mu) - reduced.reconstruct(c))))
    estimates.append(float(reduced.estimate_error(mu)))
errors, estimates = np.array(errors), np.array(estimates)
print(f"max error {errors.max():.2e}, max estimate {estimates.max():.2e}")
print(
    f"effectivity (estimate / error): {np.min(estimates / errors):.2f} to "
    f"{np.max(estimates / errors):.2f}  (>= 1: a certified bound)"
)

# %% [markdown]
# ## 4. The weak greedy
#
# Instead of 100 snapshots, let the estimator choose: on a training set of parameters,
# evaluate $\Delta_N(\mu)$ (cheap: reduced solves), solve the full model only where it is
# largest, add that solution to the basis, repeat.

# %%
grid = np.linspace(0.1, 1.0, 4)
training = jnp.asarray(np.stack(np.meshgrid(*[grid] * 4, indexing="ij"), -1).reshape(-1, 4))
start = time.perf_counter()
greedy = rom.weak_greedy(model, training, max_basis=20)
print(
    f"greedy over {len(training)} parameters, 20 full solves: {time.perf_counter() - start:.1f} s"
)

plt.figure(figsize=(5, 3.2))
plt.semilogy(np.asarray(greedy.max_estimates), "o-", ms=3, label="greedy: max estimate")
plt.semilogy(
    np.arange(1, 21),
    pod.singular_values[:20] / pod.singular_values[0] * greedy.max_estimates[0],
    "--",
    label="POD singular values (scaled)",
)
plt.xlabel("N")
plt.legend()
plt.show()

# %% [markdown]
# The greedy's certified error falls at the rate of the POD singular values, with 20 full
# solves instead of 100.
#
# ## 5. Certification and online speed

# %%
reduced = greedy.reduced_model
batch = eqx.filter_jit(lambda r, m: jax.vmap(lambda mu: (r.solve(mu), r.estimate_error(mu)))(m))
coefficients, estimates = batch(reduced, test_mus)
errors = np.array(
    [
        float(model.norm(solve(model, mu) - reduced.reconstruct(c)))
        for mu, c in zip(test_mus, coefficients, strict=True)
    ]
)
print(
    f"N = 20: max error {errors.max():.2e}, max estimate {float(estimates.max()):.2e}, "
    f"min effectivity {float(np.min(np.asarray(estimates) / errors)):.2f}"
)

jax.block_until_ready(batch(reduced, test_mus))
start = time.perf_counter()
for _ in range(20):
    jax.block_until_ready(batch(reduced, test_mus))
online = (time.perf_counter() - start) / 20 / len(test_mus)
start = time.perf_counter()
jax.block_until_ready(solve(model, test_mus[0]))
full = time.perf_counter() - start
print(
    f"reduced solve + estimate: {1e6 * online:.0f} us per parameter (batched); "
    f"full solve {1e3 * full:.0f} ms"
)

# %% [markdown]
# Every reduced answer comes with a bound that holds (effectivity $\ge 1$), at a cost of
# microseconds. The benchmark `python -m experiments bench thermalblock` runs the
# $3 \times 2$ block at $h = 1/100$ side by side with pyMOR, and
# `python -m experiments run casenave2014` shows why the estimator must be evaluated
# stably once errors approach $10^{-8}$.
