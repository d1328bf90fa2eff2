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
# # CUR, volume sampling and determinantal point processes
#
# A truncated SVD gives the best rank-$k$ approximation of a matrix, but its factors are
# mixtures of all rows and columns: a sparse, nonnegative or interpretable matrix (words by
# documents, genes by patients, a weight matrix of a network) turns into dense abstract
# vectors. A **CUR decomposition** $A \approx C U R$ keeps $k$ actual columns $C = A[:, J]$
# and rows $R = A[I, :]$. The question is *which* rows and columns, and the answers run from
# greedy pivoting (DEIM) through importance sampling (leverage scores) to **determinantal
# point processes** (DPPs), random sets whose members repel each other. The same
# repulsion picks good sample points for least-squares approximation of functions. This
# notebook shows:
#
# 1. DEIM-CUR and its error bound $\lVert A - CUR\rVert_2 \le (\eta_p + \eta_q)
#    \sigma_{k+1}$ (Sorensen & Embree 2016), and why uniform sampling fails on coherent
#    matrices where leverage scores do not (Mahoney & Drineas 2009);
# 2. DPPs: what repulsion means, an exact sampler checked against brute-force enumeration,
#    and why the $k$-DPP sampler computes in log space;
# 3. volume sampling and its exact expected error $(k+1)\, e_{k+1}(\sigma^2) / e_k(\sigma^2)$
#    (Deshpande et al. 2006);
# 4. weighted least squares with DPP designs on Legendre polynomials (Nouy & Michel 2023).
#
# References: [sorensen2016], [mahoney2009], [drineas2012], [kulesza2012], [hough2006],
# [deshpande2006], [nouy2023], [cohen2017]. The notebook enables float64 (the library never
# does) and runs in well under a minute on a 2-core CPU.

# %%
# %matplotlib inline
import itertools
from collections import Counter

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np

import spectral

jax.config.update("jax_enable_x64", True)
rng = np.random.default_rng(0)


def spectral_norm(M):
    """||M||_2 by a dense NumPy SVD."""
    return float(np.linalg.norm(np.asarray(M), 2))


# %% [markdown]
# ## 1. CUR by DEIM, and why sampling needs leverage scores
#
# DEIM (Chaturantabut & Sorensen 2010) picks $k$ indices from a basis $V \in \mathbb
# R^{n \times k}$ greedily: the first is where $|v_1|$ is largest; each next one is where
# the residual of interpolating the next basis vector at the indices so far is largest. It
# is Gaussian elimination with partial pivoting on $V$ in disguise, so
# `spectral.deim_indices` is one LU factorization. DEIM-CUR takes column indices from the
# top-$k$ right singular vectors and row indices from the left ones. With
# $\eta_p = \lVert (V[J, :])^{-1}\rVert_2$ and $\eta_q$ likewise for the rows, and the core
# $U = C^+ A R^+$, Sorensen & Embree prove
#
# $$\lVert A - CUR\rVert_2 \le (\eta_p + \eta_q)\, \sigma_{k+1}.$$
#
# We check it on a $300 \times 200$ matrix with singular values $\sigma_i = 2^{-i/4}$:

# %%
m, n, k = 300, 200, 12
U0, _ = np.linalg.qr(rng.standard_normal((m, n)))
V0, _ = np.linalg.qr(rng.standard_normal((n, n)))
sigma = 2.0 ** (-np.arange(n) / 4)
A = (U0 * sigma) @ V0.T

result = spectral.cur(jax.random.key(0), A, k, method="deim")
U, S, Vh = np.linalg.svd(A)
eta_p = np.linalg.norm(np.linalg.inv(Vh[:k, np.asarray(result.cols)].T), 2)
eta_q = np.linalg.norm(np.linalg.inv(U[np.asarray(result.rows), :k]), 2)
error = spectral_norm(A - result.C @ result.U @ result.R)
print(f"||A - CUR||_2 / sigma_(k+1) = {error / S[k]:.2f}")
print(f"eta_p + eta_q               = {eta_p + eta_q:.2f}  (the bound)")
print(f"sqrt(n k / 3) 2^k           = {np.sqrt(n * k / 3) * 2**k:.0f}  (DEIM's worst case)")

# %% [markdown]
# The bound holds with room to spare, and $\eta$ is tiny next to DEIM's worst-case growth
# $2^k$: in practice DEIM picks well-conditioned index sets.
#
# Random selection is cheaper to analyze and to parallelize, but uniform sampling breaks on
# **coherent** matrices, where a few columns carry directions no other column has. Below,
# the first 5 columns of a matrix each hold one of the top singular directions alone; the
# rest share a low-energy tail. Leverage scores $\ell_j = \lVert V_k[j, :]\rVert^2$ (they
# sum to $k$) flag exactly those columns, and sampling with probabilities $\ell_j / k$
# finds them:

# %%
m, n, k = 200, 400, 5
spikes = np.zeros((m, n))
spikes[np.arange(k), np.arange(k)] = 10.0  # five columns own five directions
A_coh = spikes + 0.1 * rng.standard_normal((m, n)) / np.sqrt(m)
scores = spectral.leverage_scores(A_coh, k)
print("largest leverage scores at columns", np.argsort(-np.asarray(scores))[:k])

best = np.sqrt(np.sum(np.linalg.svd(A_coh, compute_uv=False)[k:] ** 2))
keys = jax.random.split(jax.random.key(1), 20)
for method in ("deim", "qdeim", "leverage", "volume", "uniform"):
    errors = []
    for key in keys[: 1 if method in ("deim", "qdeim") else len(keys)]:
        r = spectral.cur(key, A_coh, k, method=method)
        errors.append(np.linalg.norm(A_coh - r.C @ r.U @ r.R) / best)
    print(f"{method:>8}: ||A - CUR||_F / ||A - A_k||_F = median {np.median(errors):7.2f}")

# %% [markdown]
# Uniform sampling almost never draws the five special columns (probability about
# $(5/400)$ per draw) and its error is the size of the spikes; DEIM, Q-DEIM, leverage and
# volume sampling all find them.
#
# ## 2. Determinantal point processes
#
# A DPP on $\{1, \dots, n\}$ with a **likelihood kernel** $L \succeq 0$ draws the set $S$
# with probability $\det L_S / \det(L + I)$. Think of $L = BB^\top$ with a feature row
# $b_i$ per item: $\det L_S$ is the squared volume spanned by the features of $S$, so
# items with similar features rarely appear together. Its **marginal kernel**
# $K = L(L + I)^{-1}$ gives $P(S \subseteq Y) = \det K_S$, in particular
# $P(i \in Y) = K_{ii}$ and $P(i, j \in Y) = K_{ii} K_{jj} - K_{ij}^2 \le P(i)P(j)$:
# negative correlation.
#
# The exact sampler (Hough et al. 2006) first picks eigenvectors of $L$ independently
# (eigenvector $i$ with probability $\lambda_i / (1 + \lambda_i)$), then draws one item per
# chosen eigenvector by the chain rule on the *projection* DPP they span. On a ground set of
# 5 items we can enumerate all 32 subsets and compare:

# %%
n_items = 5
B = rng.standard_normal((n_items, 3))
L = B @ B.T + 0.1 * np.eye(n_items)
keys = jax.random.split(jax.random.key(2), 20_000)
masks = np.asarray(jax.jit(jax.vmap(lambda key: spectral.dpp_sample(key, L)))(keys))
counts = Counter(tuple(np.flatnonzero(row)) for row in masks)
Z = np.linalg.det(L + np.eye(n_items))
subsets = [S for size in range(n_items + 1) for S in itertools.combinations(range(n_items), size)]
exact = np.array([np.linalg.det(L[np.ix_(S, S)]) if S else 1.0 for S in subsets]) / Z
empirical = np.array([counts[S] for S in subsets]) / len(keys)

fig, ax = plt.subplots(figsize=(9, 3))
ax.bar(np.arange(len(subsets)) - 0.2, exact, 0.4, label="det(L_S) / det(L + I)")
ax.bar(np.arange(len(subsets)) + 0.2, empirical, 0.4, label="20 000 samples")
ax.set_xticks(np.arange(len(subsets)), ["".join(map(str, S)) or "{}" for S in subsets])
ax.tick_params(axis="x", labelrotation=90, labelsize=7)
ax.set_ylabel("P(Y = S)")
ax.legend()
plt.show()

K = L @ np.linalg.inv(L + np.eye(n_items))
print("marginals  P(i in Y):", np.round(masks.mean(0), 3))
print("diagonal of K       :", np.round(np.diag(K), 3))
print(f"mean size {masks.sum(1).mean():.3f} vs trace K = {np.trace(K):.3f}")

# %% [markdown]
# The test suite runs the same comparison as a chi-square test for every sampler.
#
# A **$k$-DPP** conditions on $|S| = k$: $P(S) \propto \det L_S$. Choosing exactly $k$
# eigenvectors needs the elementary symmetric polynomials $e_k(\lambda_1, \dots,
# \lambda_n)$, sums of products of $k$ eigenvalues. For a kernel with eigenvalues up to
# $10^6$ and $k = 100$, $e_k$ exceeds $10^{400}$: float64 overflows (its largest number is
# $1.8 \times 10^{308}$), and a sampler computing it directly returns NaN or silently
# biased samples. `spectral.k_dpp_sample` runs the recurrence
# $e_l^{(i)} = e_l^{(i-1)} + \lambda_i e_{l-1}^{(i-1)}$ on logarithms:

# %%
lam = np.logspace(0, 6, 300)
direct = np.zeros(101)
direct[0] = 1.0
with np.errstate(over="ignore", invalid="ignore"):
    for value in lam:
        direct[1:] = direct[1:] + value * direct[:-1]
log_e = spectral.log_elementary_symmetric(jnp.asarray(lam), 100)[-1]
print(f"direct e_100 in float64: {direct[100]}")
print(
    f"log e_100 in log space:  {float(log_e[100]):.2f}  (e_100 = 10^{float(log_e[100]) / np.log(10):.0f})"
)

n_big = 10_000
V_big, _ = np.linalg.qr(rng.standard_normal((n_big, 300)))
sample = spectral.k_dpp_sample(jax.random.key(3), spectral.EighResult(jnp.asarray(lam), V_big), 100)
print(f"a 100-DPP on {n_big} items: {len(set(np.asarray(sample).tolist()))} distinct items")

# %% [markdown]
# Passing the eigendecomposition as an `EighResult` (here of a rank-300 kernel on 10 000
# items) skips the $O(n^3)$ eigendecomposition.
#
# ## 3. Volume sampling
#
# Volume sampling picks $k$ columns with $P(J) \propto \det(A_J^\top A_J)$: the $k$-DPP
# with $L = A^\top A$ (`spectral.volume_sample` works from the SVD of $A$ and never forms
# $A^\top A$). Deshpande, Rademacher, Vempala & Wang (2006) showed that the projection
# onto the chosen columns has
#
# $$\mathbb E \lVert A - P_{A_J} A\rVert_F^2 = (k+1)\,\frac{e_{k+1}(\sigma^2)}{e_k(\sigma^2)}
# \le (k+1)\, \lVert A - A_k\rVert_F^2,$$
#
# an exact identity for the mean. We compare it with a Monte-Carlo average and with
# enumeration over all $\binom{10}{3}$ column sets of a $6 \times 10$ matrix:

# %%
A_small = rng.standard_normal((6, 10)) * np.linspace(2, 0.2, 10)
k = 3
s2 = np.linalg.svd(A_small, compute_uv=False) ** 2
e = [sum(np.prod(c) for c in itertools.combinations(s2, j)) for j in (k, k + 1)]


def projection_error(J):
    C = A_small[:, list(J)]
    return np.linalg.norm(A_small - C @ np.linalg.pinv(C) @ A_small) ** 2


gram = A_small.T @ A_small
weights = {J: np.linalg.det(gram[np.ix_(J, J)]) for J in itertools.combinations(range(10), k)}
enumerated = sum(w * projection_error(J) for J, w in weights.items()) / sum(weights.values())
keys = jax.random.split(jax.random.key(4), 4000)
columns = np.asarray(jax.jit(jax.vmap(lambda key: spectral.volume_sample(key, A_small, k)))(keys))
monte_carlo = np.mean([projection_error(J) for J in columns])
print(f"(k+1) e_(k+1) / e_k      = {(k + 1) * e[1] / e[0]:.4f}")
print(f"enumeration over subsets = {enumerated:.4f}")
print(f"4000 samples             = {monte_carlo:.4f}")
print(f"(k+1) ||A - A_k||_F^2     = {(k + 1) * np.sum(s2[k:]):.4f}  (the bound)")

# %% [markdown]
# ## 4. Weighted least squares with DPP designs
#
# To approximate a function $f$ on $[-1, 1]$ by polynomials of degree $< m$ from $n$ point
# evaluations, least squares is stable when the empirical Gram matrix
# $G = \frac1n \sum_i w_i \varphi(x_i)\varphi(x_i)^\top$ of the orthonormal Legendre basis
# is close to the identity, $\lVert G - I\rVert_2 \le 1/2$. I.i.d. uniform points need
# $n \sim m^2 \log m$; i.i.d. points from the **optimal density** $k_m(x) / m$ with
# $k_m = \lVert \varphi(x)\rVert^2$ and weights $m / k_m$ need $n \sim m \log m$ (Cohen &
# Migliorati 2017). The projection DPP of the same kernel draws $m$ points whose features
# repel, so fewer points leave no direction unsampled. Nouy & Michel (2023) add it $n - m$
# optimal points (*volume-rescaled* sampling) or repeat it independently. Here are the
# designs for $m = 10$, and the spread of $\lVert G - I\rVert_2$ and of the error ratio
# $\lVert f - \hat f\rVert / \lVert f - P_m f\rVert$ for the Runge function over 100 designs:

# %%
m = 10
features = spectral.LegendreFeatures(m)
fig, axes = plt.subplots(1, 3, figsize=(12, 2.6), sharey=True)
for ax, method, n_points in zip(axes, ("uniform", "optimal", "dpp"), (m, m, m), strict=True):
    for row in range(6):
        design = spectral.sample_design(jax.random.key(row), features, n_points, method=method)
        ax.plot(np.asarray(design.points), np.full(n_points, row), "|", ms=10)
    ax.set_title(f"{method}, n = {n_points}")
    ax.set_xlabel("x")
axes[0].set_ylabel("six draws")
plt.show()

quad_x, quad_w = np.polynomial.legendre.leggauss(200)
runge = 1 / (1 + 25 * quad_x**2)
phi_q = np.asarray(features(jnp.asarray(quad_x)))
best_coeffs = phi_q.T @ (quad_w * runge) / 2
best_error = np.sqrt(np.sum(quad_w * (runge - phi_q @ best_coeffs) ** 2) / 2)

settings = (("optimal", m), ("dpp", m), ("optimal", 2 * m), ("dpp_repetitions", 2 * m))
keys = jax.random.split(jax.random.key(5), 100)
for method, n_points in settings:
    designs = jax.jit(
        jax.vmap(
            lambda key, method=method, n=n_points: spectral.sample_design(
                key, features, n, method=method
            )
        )
    )(keys)
    values = 1 / (1 + 25 * designs.points**2)
    fits = jax.vmap(lambda x, y, w: spectral.weighted_least_squares(features, x, y, w))(
        designs.points, values, designs.weights
    )
    deviations = np.linalg.norm(np.asarray(fits.gram) - np.eye(m), ord=2, axis=(1, 2))
    c = np.asarray(fits.coefficients)
    ratios = np.sqrt(best_error**2 + np.sum((c - best_coeffs) ** 2, axis=1)) / best_error
    print(
        f"{method:>16}, n = {n_points:2d}: median ||G - I||_2 = {np.median(deviations):.2f}, "
        f"error / best: median {np.median(ratios):.2f}, 90% {np.quantile(ratios, 0.9):.2f}"
    )


# %% [markdown]
# With $n = m$ points the DPP's error stays within a small factor of the best
# approximation, where i.i.d. optimal points are often unstable; at $n = 2m$ two
# independent DPPs beat $2m$ i.i.d. points again. The full comparison over
# $m \in \{5, 10, 20, 40\}$, three functions and six sample sizes is the experiment
# `python -m experiments run nouy2023`; its numbers are in the results page.
