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
# # Why randomization works: the randomized SVD
#
# A matrix whose singular values decay has most of its action in a few directions.
# Multiplying it by a handful of random vectors finds those directions, and once we have
# an orthonormal basis $Q$ for them, the SVD of the small matrix $Q^\top A$ gives a
# truncated SVD of $A$. This notebook shows, on small dense matrices:
#
# 1. why a Gaussian sketch $A\Omega$ captures the range of $A$;
# 2. the two stages of the method: `spectral.randomized_range_finder` and
#    `spectral.randomized_svd`;
# 3. power iterations for slowly decaying spectra, and why they must re-orthonormalize;
# 4. the observed error against the optimum $\sigma_{k+1}$ and the
#    Halko–Martinsson–Tropp expected-error bound;
# 5. block Krylov iteration against power iteration, per pass over $A$.
#
# The reference throughout is Halko, Martinsson & Tropp (2011), *Finding structure with
# randomness*, SIAM Review 53(2) ([halko2011]); section 5 uses Musco & Musco (2015)
# ([musco2015]). Everything runs in float64 on a CPU in a few seconds.

# %%
# %matplotlib inline
import jax

jax.config.update("jax_enable_x64", True)  # this notebook works in float64

import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np

import spectral

m, n = 500, 300
j = np.arange(1, n + 1)  # singular value index, 1-based as in the papers


def matrix_with_spectrum(key, sigma):
    """An m x n matrix with prescribed singular values and random singular vectors."""
    key_u, key_v = jax.random.split(key)
    U, _ = np.linalg.qr(np.asarray(jax.random.normal(key_u, (m, n))))
    V, _ = np.linalg.qr(np.asarray(jax.random.normal(key_v, (n, n))))
    return jnp.asarray((U * sigma) @ V.T)


def spectral_error(A, Q):
    r"""$\|A - QQ^\top A\|_2$, the square root of the largest eigenvalue of $A^\top A - B^\top B$, $B = Q^\top A$."""
    A, Q = np.asarray(A), np.asarray(Q)
    B = Q.T @ A
    return float(np.sqrt(max(np.linalg.eigvalsh(A.T @ A - B.T @ B)[-1], 0.0)))


sigma_fast = 0.85**j  # geometric decay
sigma_slow = 1.0 / j  # harmonic decay: slow
A_fast = matrix_with_spectrum(jax.random.key(1), sigma_fast)
A_slow = matrix_with_spectrum(jax.random.key(2), sigma_slow)
k = 10  # target rank throughout
print(A_fast.shape, A_fast.dtype)

# %% [markdown]
# ## 1. A Gaussian sketch captures the range
#
# Draw a Gaussian test matrix $\Omega \in \mathbb{R}^{n \times \ell}$ and form the sketch
# $Y = A\Omega$. Each column of $Y$ is a random combination of the columns of $A$,
#
# $$A\omega = \sum_j \sigma_j (v_j^\top \omega)\, u_j, \qquad v_j^\top \omega \sim \mathcal N(0, 1)
#   \text{ independently,}$$
#
# so the directions $u_j$ with large $\sigma_j$ dominate every column. With $\ell = k + p$
# columns, a few more than the target rank $k$, the orthonormal basis $Q$ of $Y$ captures
# the top $k$ left singular vectors up to an error comparable to $\sigma_{k+1}$, the
# smallest error any rank-$k$ approximation can reach (Eckart–Young).
#
# Householder QR is nested: the first $\ell$ columns of $Q = \operatorname{orth}(Y)$ span
# the first $\ell$ columns of $Y$. So one call with $\ell = 40$ gives the basis for every
# smaller sketch size at once.

# %%
key = jax.random.key(0)
Q40 = spectral.randomized_range_finder(key, A_fast, 40, power_iters=0)
sizes = np.arange(2, 41, 2)
err_sketch = [spectral_error(A_fast, Q40[:, :ell]) for ell in sizes]

fig, ax = plt.subplots(figsize=(7, 4))
ax.semilogy(sizes, err_sketch, "o-", ms=4, label=r"sketch: $\|A - QQ^\top A\|_2$, $\ell$ columns")
ax.semilogy(
    sizes, sigma_fast[sizes], "k--", label=r"optimum with $\ell$ columns: $\sigma_{\ell+1}$"
)
ax.axhline(sigma_fast[k], color="C3", lw=1, label=rf"target: $\sigma_{{k+1}}$, $k = {k}$")
ax.axvline(k, color="C3", lw=0.5, ls=":")
ax.set_xlabel(r"sketch size $\ell = k + p$")
ax.set_ylabel("spectral-norm error")
ax.set_title(r"$\sigma_j = 0.85^j$, $500 \times 300$")
ax.legend()
plt.show()

# %% [markdown]
# The sketch error follows the optimum $\sigma_{\ell+1}$ a few columns behind: with
# $\ell = k$ the basis misses part of the $k$-th direction, but a small oversampling
# $p = \ell - k$ of 5 to 10 columns already brings the error below $\sigma_{k+1}$. The
# random combinations only fail when the sketch is unlucky in the directions that matter,
# and the chance of that drops exponentially with $p$ (Halko et al., section 10).

# %% [markdown]
# ## 2. The range finder and the randomized SVD
#
# The randomized SVD has two stages (Halko et al., Algorithms 4.1 and 5.1):
#
# 1. **Range finder.** $Q = \operatorname{orth}(A\Omega)$, an $m \times \ell$ matrix with
#    orthonormal columns and $A \approx QQ^\top A$. One pass over $A$.
# 2. **Small SVD.** $B = Q^\top A$ is only $\ell \times n$; its SVD
#    $B = \tilde U \Sigma V_h$ is cheap, and $A \approx QB = (Q\tilde U)\Sigma V_h$.
#    One more pass over $A$.
#
# Here are the two stages by hand, with the range finder from `spectral`:

# %%
p = 5
Q = spectral.randomized_range_finder(key, A_fast, k + p, power_iters=0)
print("orthonormality  ||Q^T Q - I||  =", float(jnp.linalg.norm(Q.T @ Q - jnp.eye(k + p))))

B = Q.T @ A_fast  # (k + p) x n
U_small, S, Vh = jnp.linalg.svd(B, full_matrices=False)
U = Q @ U_small[:, :k]
print("rank-k error    ||A - U S Vh||_2 =", spectral_error(A_fast, U))
print("optimum         sigma_{k+1}      =", sigma_fast[k])

# %% [markdown]
# `spectral.randomized_svd` does the same in one jitted call, with a default oversampling
# of $p = 10$ and two power iterations (section 3). It returns an `SVDResult`, which
# unpacks like `jnp.linalg.svd`:

# %%
U, S, Vh = spectral.randomized_svd(key, A_fast, k)
print("relative error of the singular values:")
print(np.array2string(np.abs(np.asarray(S) - sigma_fast[:k]) / sigma_fast[:k], precision=1))
print("||A - U S Vh||_2 / sigma_{k+1} =", spectral_error(A_fast, U) / sigma_fast[k])

# %% [markdown]
# The same call works for any operator that only offers products (`spectral.LinearOperator`,
# a sparse `BCOO` matrix), under `jax.jit`, and batched over keys with `jax.vmap`
# (section 4).

# %% [markdown]
# ## 3. Power iterations, and why they re-orthonormalize
#
# When the spectrum decays slowly, the tail $\sigma_{k+1}, \sigma_{k+2}, \dots$ is not small
# next to $\sigma_k$, and the random combinations mix it into the basis. The remedy is to
# sketch $(AA^\top)^q A$ instead, whose singular values $\sigma_j^{2q+1}$ decay much faster,
# with the same singular vectors (Halko et al., Algorithm 4.3). Each power iteration costs
# two more passes over $A$.
#
# We use the harmonic spectrum $\sigma_j = 1/j$, and measure the excess error
# $\|A - UU^\top A\|_2 / \sigma_{k+1} - 1$ of the rank-$k$ result, $k = 10$, $p = 5$.

# %%
p = 5
qs_lib = range(4)
rsvd_slow = {
    q: spectral.randomized_svd(key, A_slow, k, oversample=p, power_iters=q) for q in qs_lib
}
excess_lib = [spectral_error(A_slow, rsvd_slow[q].U) / sigma_slow[k] - 1 for q in qs_lib]
for q, e in zip(qs_lib, excess_lib, strict=True):
    print(f"q = {q}:  ||A - U S Vh||_2 / sigma_(k+1) - 1 = {e:.1e}")

# %% [markdown]
# In exact arithmetic one could form $Y = (AA^\top)^q A\Omega$ by plain repeated
# multiplication and orthonormalize once at the end. In floating point this fails: every
# multiplication stretches the component along $u_1$ relative to the component along
# $u_j$ by $\sigma_1/\sigma_j$, so the columns of $Y$ all turn towards $u_1$. Once
# $(\sigma_1/\sigma_\ell)^{2q+1}$ reaches $1/\varepsilon \approx 10^{16}$, the directions we
# want have sunk below the rounding error of the dominant ones and the final QR cannot
# recover them (Halko et al., section 4.5: information on singular values below
# $\varepsilon^{1/(2q+1)}\|A\|$ is lost).
#
# `spectral.randomized_range_finder` re-orthonormalizes after every product with $A$ or
# $A^\top$ (Algorithm 4.4, randomized subspace iteration), which keeps the columns apart.
# Below are both variants in plain NumPy, float64, from the same Gaussian $\Omega$, drawn
# from the same key as the library calls above:

# %%
A_np = np.asarray(A_slow)
Omega = np.asarray(jax.random.normal(key, (n, k + p)))


def orth(Y):
    return np.linalg.qr(Y)[0]


def rank_k_basis(Q):
    """Left singular vectors of the rank-k truncation of Q Q^T A."""
    U_small = np.linalg.svd(Q.T @ A_np, full_matrices=False)[0]
    return Q @ U_small[:, :k]


qs = np.arange(13)
excess_naive, excess_qr, cond_naive = [], [], []
for q in qs:
    Y_naive = A_np @ Omega
    Q_qr = orth(A_np @ Omega)
    for _ in range(q):
        Y_naive = A_np @ (A_np.T @ Y_naive)  # no re-orthonormalization
        Q_qr = orth(A_np @ orth(A_np.T @ Q_qr))  # re-orthonormalize after each product
    cond_naive.append(np.linalg.cond(Y_naive))
    excess_naive.append(spectral_error(A_np, rank_k_basis(orth(Y_naive))) / sigma_slow[k] - 1)
    excess_qr.append(spectral_error(A_np, rank_k_basis(Q_qr)) / sigma_slow[k] - 1)

fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(11, 4))
floor = 1e-16  # an excess of exactly 0 cannot be drawn on a log axis
ax0.semilogy(qs, np.maximum(excess_qr, floor), "o-", label="re-orthonormalized (NumPy)")
ax0.semilogy(qs, np.maximum(excess_naive, floor), "s-", label="orthonormalized once, at the end")
ax0.semilogy(
    list(qs_lib), np.maximum(excess_lib, floor), "k+", ms=12, mew=2, label="spectral.randomized_svd"
)
ax0.set_xlabel("power iterations $q$")
ax0.set_ylabel(r"$\|A - UU^\top A\|_2 / \sigma_{k+1} - 1$")
ax0.set_title(r"$\sigma_j = 1/j$, $k = 10$, $p = 5$")
ax0.legend(loc="center right")
ax1.semilogy(qs, cond_naive, "s-", color="C1", label=r"$\kappa(Y)$, $Y = (AA^\top)^q A\Omega$")
ax1.semilogy(
    qs,
    (sigma_slow[0] / sigma_slow[k + p - 1]) ** (2 * qs + 1),
    "k--",
    lw=1,
    label=r"$(\sigma_1/\sigma_\ell)^{2q+1}$",
)
ax1.axhline(1 / np.finfo(np.float64).eps, color="C3", lw=1, label=r"$1/\varepsilon$")
ax1.set_xlabel("power iterations $q$")
ax1.set_title("conditioning of the un-orthonormalized sketch")
ax1.legend()
plt.show()

# %% [markdown]
# With re-orthonormalization the excess error falls geometrically with $q$, down to
# rounding level, and the library (crosses) follows the same curve. Without it, the error
# falls at first, then turns around as soon as the condition number of $Y$ reaches
# $1/\varepsilon$, and a few iterations later the naive basis is no better than no power
# iteration at all. Note that $Q = \operatorname{orth}(Y)$ is orthonormal to machine
# precision in both cases: what is lost is *which* subspace it spans, because the columns
# of $Y$ have become numerically dependent. Two or three re-orthonormalized power
# iterations (the library's default is $q = 2$) are enough for most spectra.

# %% [markdown]
# ## 4. The error against $\sigma_{k+1}$ and the Halko–Martinsson–Tropp bound
#
# The error is random, and Halko et al. bound its expectation. For a Gaussian sketch with
# $\ell = k + p$ columns, $k, p \ge 2$, and no power iteration (Theorems 10.5 and 10.6):
#
# $$\mathbb E\,\|A - QQ^\top A\|_F \le \Big(1 + \frac{k}{p-1}\Big)^{1/2}
#   \Big(\sum_{j>k} \sigma_j^2\Big)^{1/2},$$
#
# $$\mathbb E\,\|A - QQ^\top A\|_2 \le \Big(1 + \sqrt{\frac{k}{p-1}}\Big)\sigma_{k+1}
#   + \frac{e\sqrt{k+p}}{p}\Big(\sum_{j>k} \sigma_j^2\Big)^{1/2}.$$
#
# The right-hand sides are the optimal rank-$k$ errors, $(\sum_{j>k}\sigma_j^2)^{1/2}$ in
# the Frobenius norm and $\sigma_{k+1}$ in the spectral norm, times factors that shrink as
# $p$ grows. We estimate the expectations by averaging over 100 keys: `jax.vmap` runs the
# range finder for all keys in one batched call, and, as in section 1, the nested prefixes
# $Q_{:, :k+p}$ give every oversampling $p$ at once. In the Frobenius norm the error of
# every prefix comes from one cumulative sum,
# $\|A - QQ^\top A\|_F^2 = \|A\|_F^2 - \sum_i \|q_i^\top A\|^2$.
#
# We also show the error of the rank-$k$ truncation $U\operatorname{diag}(S)V_h$ that
# `randomized_svd` returns, computed from the SVD of each small $B = Q^\top A$; it is
# larger than the error of the rank-$(k+p)$ projection $QQ^\top A$ that the theorems bound.

# %%
keys = jax.random.split(jax.random.key(4), 100)
ps = np.array([2, 3, 4, 5, 6, 8, 10, 12, 15, 20, 25, 30])
ell_max = int(k + ps[-1])


def sketch(key):
    """B = Q^T A for the range finder's Q with ell_max columns (q = 0)."""
    Q = spectral.randomized_range_finder(key, A_slow, ell_max, power_iters=0)
    return Q.T @ A_slow


Bs = np.asarray(jax.vmap(sketch)(keys))  # (keys, ell_max, n): one batched call
norm_A_F2 = float(np.sum(sigma_slow**2))
tail_F = float(np.sqrt(np.sum(sigma_slow[k:] ** 2)))
captured = np.cumsum(np.sum(Bs**2, axis=2), axis=1)  # sum_{i <= ell} ||q_i^T A||^2
err_F = np.sqrt(np.maximum(norm_A_F2 - captured[:, k + ps - 1], 0.0))  # (keys, len(ps))
# Rank-k truncation: ||A - Q [B]_k||_F^2 = ||A||_F^2 - (sum of the k largest sigma_i(B)^2).
err_F_trunc = np.stack(
    [
        np.sqrt(
            np.maximum(
                norm_A_F2 - np.sum(np.linalg.eigvalsh(Bl @ Bl.transpose(0, 2, 1))[:, -k:], axis=1),
                0.0,
            )
        )
        for Bl in (Bs[:, : k + p_] for p_ in ps)
    ],
    axis=1,
)
# Spectral norm: one n x n eigenvalue problem per key and p, so fewer keys and values of p.
ps_2, n_keys_2 = np.array([2, 5, 10, 20, 30]), 16
G = np.asarray(A_slow.T @ A_slow)
err_2 = np.array(
    [
        [
            np.sqrt(max(np.linalg.eigvalsh(G - Bs[b, : k + p_].T @ Bs[b, : k + p_])[-1], 0.0))
            for p_ in ps_2
        ]
        for b in range(n_keys_2)
    ]
)

bound_F = np.sqrt(1 + k / (ps - 1)) * tail_F
bound_2 = (1 + np.sqrt(k / (ps_2 - 1))) * sigma_slow[k] + np.e * np.sqrt(k + ps_2) / ps_2 * tail_F

fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(11, 4))
ax0.plot(ps, err_F.mean(axis=0) / tail_F, "o-", ms=4, label=r"mean $\|A - QQ^\top A\|_F$")
ax0.plot(
    ps, err_F_trunc.mean(axis=0) / tail_F, "^-", ms=4, label=r"mean rank-$k$ error (randomized_svd)"
)
ax0.plot(ps, bound_F / tail_F, "k--", label=r"bound $(1 + k/(p-1))^{1/2}$")
ax0.axhline(1, color="C3", lw=1, label=r"optimum $(\sum_{j>k}\sigma_j^2)^{1/2}$")
ax0.set_xlabel("oversampling $p$")
ax0.set_ylabel(r"error / $(\sum_{j>k}\sigma_j^2)^{1/2}$")
ax0.set_title(f"Frobenius norm, {len(keys)} keys, $q = 0$")
ax0.legend()
ax1.plot(ps_2, err_2.mean(axis=0) / sigma_slow[k], "o-", ms=4, label=r"mean $\|A - QQ^\top A\|_2$")
ax1.plot(
    ps_2,
    err_2.max(axis=0) / sigma_slow[k],
    "v:",
    ms=4,
    color="C0",
    label=f"worst of {n_keys_2} keys",
)
ax1.plot(ps_2, bound_2 / sigma_slow[k], "k--", label="bound of Thm 10.6")
ax1.axhline(1, color="C3", lw=1, label=r"optimum $\sigma_{k+1}$")
ax1.set_xlabel("oversampling $p$")
ax1.set_ylabel(r"error / $\sigma_{k+1}$")
ax1.set_title(f"spectral norm, {n_keys_2} keys, $q = 0$")
ax1.legend()
plt.show()

for p_, e, b in zip(ps, err_F.mean(axis=0), bound_F, strict=True):
    if p_ in (2, 5, 10):
        print(f"p = {p_:2d}: mean Frobenius error / bound = {e / b:.3f}")

# %% [markdown]
# The averages sit below their bounds for every $p$, and both bounds fall towards the
# optimum as $p$ grows. The bounds hold for every matrix with these singular values and
# are approached when there is a large gap between $\sigma_k$ and $\sigma_{k+1}$; our
# spectrum decays smoothly, so the extra columns also capture part of the tail and the
# average error is well below the bound. The spectral-norm bound is the looser one, because
# its second term carries the whole tail $(\sum_{j>k}\sigma_j^2)^{1/2}$, here about
# $3.3\,\sigma_{k+1}$. The rank-$k$ error of `randomized_svd` at $q = 0$ (section 3) is
# still about 50% above $\sigma_{k+1}$ at $p = 5$: that is what the power iterations remove.

# %% [markdown]
# ## 5. Block Krylov against power iteration, per pass over $A$
#
# Power iteration keeps only the last block $(AA^\top)^q A\Omega$ and discards the earlier
# ones. Randomized block Krylov iteration (Musco & Musco, 2015) keeps them all, and takes
# the best rank-$k$ approximation from
# $\operatorname{span}[A\Omega, (AA^\top)A\Omega, \dots, (AA^\top)^q A\Omega]$. Both cost
# $2q + 2$ passes over $A$ with a block of $b$ columns; the Krylov space is $q + 1$ times
# larger, and its best polynomial in $AA^\top$ converges like a Chebyshev polynomial:
# $q = O(\log n/\sqrt{\epsilon})$ steps for a $(1+\epsilon)$ spectral-norm error instead of
# $O(\log n/\epsilon)$, whatever the gap between $\sigma_k$ and $\sigma_{k+1}$.
#
# We compare `spectral.randomized_svd` (oversampling $p = 5$, so $b = 15$) with
# `spectral.block_krylov_svd` with the same block size. At $q = 0$ the two methods are
# the same algorithm.

# %%
krylov_slow = {
    q: spectral.block_krylov_svd(key, A_slow, k, depth=q, block_size=k + p) for q in qs_lib if q > 0
}
excess_krylov = [excess_lib[0]] + [
    spectral_error(A_slow, krylov_slow[q].U) / sigma_slow[k] - 1 for q in qs_lib if q > 0
]
passes = [2 * q + 2 for q in qs_lib]

fig, ax = plt.subplots(figsize=(7, 4))
ax.semilogy(passes, np.maximum(excess_lib, floor), "o-", label="randomized_svd (power iteration)")
ax.semilogy(passes, np.maximum(excess_krylov, floor), "s-", label="block_krylov_svd")
ax.set_xlabel("passes over $A$")
ax.set_ylabel(r"$\|A - UU^\top A\|_2 / \sigma_{k+1} - 1$")
ax.set_title(r"$\sigma_j = 1/j$, $k = 10$, block size $15$")
ax.set_xticks(passes)
ax.legend()
plt.show()

# %% [markdown]
# For the same number of passes, block Krylov reaches a given accuracy much sooner; here
# it is near rounding level after 8 passes, where power iteration is still at $10^{-6}$. The price is memory and orthogonalization work:
# it stores a basis of $(q+1)b$ vectors instead of $b$. When passes over $A$ are what
# costs (a large sparse matrix, an operator defined by a simulation), that is a good
# trade; [How to choose a solver](../../how-to-choose/) sums up when to use which.
