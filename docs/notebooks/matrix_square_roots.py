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
# # Matrix square roots and polar factors from matrix products
#
# Whitening a batch of features, normalizing a covariance in a network layer, or
# orthogonalizing a gradient as the Muon optimizer does all need a function of a matrix,
# $A^{1/2}$, $A^{-1/2}$ or the polar factor $UV^\top$, and its derivative, many times,
# on an accelerator. The textbook answer, an eigendecomposition or an SVD, is exact but
# slow on GPUs and TPUs. The alternatives here use only matrix products (and at most a few
# solves). This notebook shows, on small matrices:
#
# 1. the problem: ZCA whitening needs $A^{-1/2}$ of a sample covariance;
# 2. the five methods of `spectral.sqrtm` / `spectral.inv_sqrtm`, and why Taylor and Padé
#    are best understood as scalar approximations applied to the eigenvalues;
# 3. how the coupled Newton–Schulz iteration converges, and how many steps it needs;
# 4. the derivative: a Lyapunov equation, solved exactly or by Newton–Schulz, and how many
#    backward steps that takes;
# 5. the polar factor by Newton–Schulz polynomials (Muon, Polar Express), and
#    `spectral.orthogonalize_updates` in an optax chain.
#
# The references are Song, Sebe & Wang (2022), *Fast Differentiable Matrix Square Root*
# ([song2022]), Higham (2008), *Functions of Matrices*, ch. 6 ([higham2008]), and for the
# polar factor Jordan et al. (2024) ([jordan2024]), Amsel et al. (2025) ([amsel2025]) and
# Boissin et al. (2025) ([boissin2025]).
#
# The library runs in float32 here, JAX's default and the precision these methods are
# used at on accelerators (the notebook does not enable float64). Every reference is
# computed independently in float64 with NumPy's `eigh`. The notebook runs in about 20 s
# on a laptop CPU, most of it compilation.

# %%
# %matplotlib inline
import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
import optax

import spectral

print("float64 enabled:", jax.config.jax_enable_x64)  # False: float32 throughout


def spd_with_spectrum(key, eigenvalues):
    """A float32 symmetric positive definite matrix with these eigenvalues, random eigenvectors."""
    n = len(eigenvalues)
    V, _ = np.linalg.qr(np.asarray(jax.random.normal(key, (n, n)), dtype=np.float64))
    A = (V * eigenvalues) @ V.T
    return jnp.asarray(0.5 * (A + A.T), dtype=jnp.float32)


def exact_power(A, power):
    """The reference A^power of a symmetric positive definite A: NumPy eigh in float64."""
    w, V = np.linalg.eigh(np.asarray(A, dtype=np.float64))
    return (V * w**power) @ V.T


def rel_err(X, X_ref):
    """Relative Frobenius-norm error ||X - X_ref||_F / ||X_ref||_F."""
    X = np.asarray(X, dtype=np.float64)
    return float(np.linalg.norm(X - X_ref) / np.linalg.norm(X_ref))


def norm_bound(A):
    """c = min(||A||_F, ||A||_1) >= lambda_max(A): the library's normalizer."""
    A = np.asarray(A, dtype=np.float64)
    return min(np.linalg.norm(A, "fro"), np.linalg.norm(A, 1))


# %% [markdown]
# ## 1. The problem: whitening and covariance normalization
#
# Let $F \in \mathbb R^{N \times d}$ hold $N$ centered samples of $d$ features, with sample
# covariance $C = F^\top F / N$. *ZCA whitening* maps the data to
# $F_w = F C^{-1/2}$, whose covariance is $C^{-1/2} C C^{-1/2} = I$. Among all whitening
# matrices $W$ (those with $W^\top C W = I$) the symmetric one, $C^{-1/2}$, changes the
# data least, which is why it is used to decorrelate features inside networks.
# *Second-order (covariance) pooling* summarizes a feature map by $C^{1/2}$, a normalized
# covariance. Both sit inside a model that is trained by gradient descent, so we need
# $A^{1/2}$ and $A^{-1/2}$ of a symmetric positive definite $A$, batched, fast on an
# accelerator, and *differentiable*.
#
# We draw $N = 256$ samples of $d = 64$ features from a Gaussian whose covariance has
# eigenvalues from $1$ down to $10^{-3}$:

# %%
d, N = 64, 256
key_cov, key_data = jax.random.split(jax.random.key(0))
population_cov = spd_with_spectrum(key_cov, np.logspace(0, -3, d))
L = np.linalg.cholesky(np.asarray(population_cov, dtype=np.float64))
samples = jax.random.normal(key_data, (N, d)) @ jnp.asarray(L.T, dtype=jnp.float32)
F = samples - samples.mean(axis=0)
C = F.T @ F / N  # the sample covariance, float32
eig_C = np.linalg.eigvalsh(np.asarray(C, dtype=np.float64))
print(f"kappa(C) = {eig_C[-1] / eig_C[0]:.1e}")

W = spectral.inv_sqrtm(C)  # exact, by eigh: the default method
F_white = F @ W
cov_white = F_white.T @ F_white / N
print("||cov(F W) - I||_max =", float(jnp.max(jnp.abs(cov_white - jnp.eye(d)))))

fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(9, 4))
lim = float(jnp.max(jnp.abs(C)))
ax0.imshow(C, cmap="RdBu_r", vmin=-lim, vmax=lim)
ax0.set_title("sample covariance $C$")
ax1.imshow(cov_white, cmap="RdBu_r", vmin=-1, vmax=1)
ax1.set_title(r"covariance after ZCA whitening, $C^{-1/2} C C^{-1/2}$")
for ax in (ax0, ax1):
    ax.set_xticks([])
    ax.set_yticks([])
plt.show()

# %% [markdown]
# ## 2. Five ways to compute $A^{1/2}$
#
# `spectral.sqrtm(A, method=...)` and `spectral.inv_sqrtm(A, method=...)` offer:
#
# | method | what it computes | cost per $n \times n$ matrix |
# |---|---|---|
# | `"eigh"` | $A = V\Lambda V^\top$, $A^{\pm1/2} = V\Lambda^{\pm1/2}V^\top$: exact | one eigendecomposition |
# | `"newton_schulz"` | coupled iteration $T_k = \tfrac12(3I - Z_kY_k)$, $Y_{k+1} = Y_kT_k$, $Z_{k+1} = T_kZ_k$ | 3 products per step (10 steps) |
# | `"denman_beavers"` | $Y_{k+1} = \tfrac12(Y_k + Z_k^{-1})$, $Z_{k+1} = \tfrac12(Z_k + Y_k^{-1})$ | 2 inverses per step (10 steps) |
# | `"taylor"` | truncated series of $(1 - z)^{\pm1/2}$ at $Z = I - A/c$ | $K = 10$ products |
# | `"pade"` | rational approximant $P_M(Z)\,Q_N(Z)^{-1}$ of $\sqrt{1 - z}$ | $M + N - 1 = 9$ products, 1 solve |
#
# All but `"eigh"` first normalize, $A/c$ with $c = \min(\|A\|_F, \|A\|_1) \ge
# \lambda_{\max}$, so that the eigenvalues of $A/c$ lie in $(0, 1]$, and scale back by
# $c^{\pm1/2}$ at the end. The iterations start from $Y_0 = A/c$, $Z_0 = I$ and converge to
# $Y_\infty = (A/c)^{1/2}$, $Z_\infty = (A/c)^{-1/2}$ (Higham 2008, eq. 6.35; Denman &
# Beavers 1976, [denman1976]). On the covariance $C$ above, at the default settings:

# %%
methods = ["eigh", "newton_schulz", "denman_beavers", "taylor", "pade"]
S_ref = exact_power(C, 0.5)
print("relative error of sqrtm(C, method=...):")
for method in methods:
    print(f"  {method:15s} {rel_err(spectral.sqrtm(C, method=method), S_ref):.1e}")

W_pade = spectral.inv_sqrtm(C, method="pade")
whitening_err = float(jnp.max(jnp.abs(W_pade @ C @ W_pade - jnp.eye(d))))
print(f"whitening with inv_sqrtm(C, method='pade'): ||W C W - I||_max = {whitening_err:.2f}")

# %% [markdown]
# `"eigh"` and Denman–Beavers reach float32 precision. Newton–Schulz is off by a few
# $10^{-3}$, and Taylor and Padé, at the paper's degrees, by 37% and 16%: this covariance
# has a condition number near $2 \cdot 10^3$, and most of its eigenvalues are small. The
# inverse root is harder still, since $\lambda^{-1/2}$ is largest at the smallest
# eigenvalues: Padé's $W$ does not whiten $C$ at all. To see why, look at what the
# truncated methods do to one eigenvalue.
#
# ### The scalar view: Taylor and Padé act on the eigenvalues
#
# With $Z = I - A/c$, the Taylor method computes the polynomial
# $T_K(Z) = \sum_{k=0}^{K} \binom{1/2}{k}(-Z)^k$, and since $Z = V(I - \Lambda/c)V^\top$,
# $T_K(Z) = V\,T_K(I - \Lambda/c)\,V^\top$: the *scalar* polynomial $T_K(z)$ applied to each
# $z_i = 1 - \lambda_i/c \in [0, 1)$. The same holds for the Padé approximant
# $P_M(z)/Q_N(z)$. So the matrix error is exactly the scalar error
# $|T_K(z) - \sqrt{1 - z}|$ at the eigenvalues, and the eigenvalues near $z = 1$, the
# *smallest* ones, where $\sqrt{1 - z}$ has its branch point, converge slowest. The
# coefficients take a few lines: $t_k = \binom{1/2}{k}(-1)^k$ by recurrence, and Padé's
# $q_j$ from the linear conditions that $P_M - Q_N \sum_k t_k z^k = O(z^{M+N+1})$ (Song et
# al. 2022, Sec. 3.1–3.2).

# %%
polyval = np.polynomial.polynomial.polyval


def taylor_coefficients(K, power=0.5):
    """t_0..t_K of (1 - z)^power = sum_k t_k z^k, t_k = binom(power, k) (-1)^k."""
    t = np.ones(K + 1)
    for k in range(1, K + 1):
        t[k] = t[k - 1] * (k - 1 - power) / k
    return t


def pade_coefficients(M, N):
    """p, q of the [M, N] Padé approximant P_M(z) / Q_N(z) of sqrt(1 - z), q_0 = 1."""
    t = taylor_coefficients(M + N)
    T = np.array(
        [[t[k - j] if k >= j else 0.0 for j in range(1, N + 1)] for k in range(M + 1, M + N + 1)]
    )
    q = np.concatenate([[1.0], np.linalg.solve(T, -t[M + 1 : M + N + 1])])
    p = np.array([q[: min(k, N) + 1] @ t[k - np.arange(min(k, N) + 1)] for k in range(M + 1)])
    return p, q


def taylor_sqrt(z, K):
    return polyval(z, taylor_coefficients(K))


def pade_sqrt(z, M, N):
    p, q = pade_coefficients(M, N)
    return polyval(z, p) / polyval(z, q)


x = np.logspace(-6, 0, 400)  # x = 1 - z = lambda / c
z = 1 - x
fig, ax = plt.subplots(figsize=(7, 4))
for i, K in enumerate((3, 10, 30)):
    ax.loglog(x, np.abs(taylor_sqrt(z, K) - np.sqrt(x)), color=f"C{i}", label=f"Taylor $K = {K}$")
for i, MN in enumerate(((2, 2), (5, 5), (10, 10))):
    err = np.abs(pade_sqrt(z, *MN) - np.sqrt(x))
    ax.loglog(x, err, "--", color=f"C{i}", label=f"Padé $[{MN[0]}, {MN[1]}]$")
ax.plot(eig_C / norm_bound(C), np.full(d, 2e-8), "k|", ms=10, label=r"eigenvalues of $C/c$")
ax.set_xlabel(r"$1 - z = \lambda / c$")
ax.set_ylabel(r"$|\,\mathrm{approx}(z) - \sqrt{1 - z}\,|$")
ax.set_title(r"scalar error of $\sqrt{1 - z}$ on $z \in [0, 1)$")
ax.set_ylim(1e-8, 1)
ax.legend(ncol=2, fontsize=9)
plt.show()

# %% [markdown]
# Near $z = 0$ ($\lambda \approx c$) every approximant is very accurate; towards $z = 1$ the
# Taylor error creeps up to $\sum_{k > K}|t_k| \sim K^{-1/2}$, and raising $K$ from 10 to 30
# buys little. Padé $[M, N]$ makes better use of the same $M + N + 1$ Taylor coefficients:
# orders of magnitude more accurate for $1 - z \gtrsim 10^{-2}$, and still twice as
# accurate as $K = 10$ at $z \to 1$, because a rational function can follow the
# square-root singularity (its poles lie on $z > 1$, a discrete stand-in for the branch
# cut). The paper's code uses $K = 10$ and $[5, 5]$.
#
# Now the matrix error against the condition number $\kappa$ of $A$, $n = 64$, eigenvalues
# geometrically spaced in $[1/\kappa, 1]$. The dashed lines are the prediction from the
# scalar functions at the exact eigenvalues (float64); the markers are the library in
# float32.

# %%
n = 64
kappas = np.logspace(1, 5, 5)
mats = [spd_with_spectrum(jax.random.key(1), np.logspace(0, -np.log10(k), n)) for k in kappas]
refs = [exact_power(A, 0.5) for A in mats]
variants = {
    "eigh": {"method": "eigh"},
    "newton_schulz (10 steps)": {"method": "newton_schulz"},
    "newton_schulz (30 steps)": {"method": "newton_schulz", "iters": 30},
    "denman_beavers": {"method": "denman_beavers"},
    "taylor (K = 10)": {"method": "taylor"},
    "pade ([5, 5])": {"method": "pade"},
}
errors = {
    label: [rel_err(spectral.sqrtm(A, **options), ref) for A, ref in zip(mats, refs, strict=True)]
    for label, options in variants.items()
}


def predicted(A, approx):
    """Relative error of sqrt(c) approx(1 - lambda/c) over the eigenvalues of A (float64)."""
    w, c = np.linalg.eigvalsh(np.asarray(A, dtype=np.float64)), norm_bound(A)
    return np.linalg.norm(np.sqrt(c) * approx(1 - w / c) - np.sqrt(w)) / np.linalg.norm(np.sqrt(w))


fig, ax = plt.subplots(figsize=(7, 4))
for i, (label, errs) in enumerate(errors.items()):
    ax.loglog(kappas, errs, "o-" if i < 4 else "o", color=f"C{i}", label=label)
ax.loglog(kappas, [predicted(A, lambda z: taylor_sqrt(z, 10)) for A in mats], "--", color="C4")
ax.loglog(kappas, [predicted(A, lambda z: pade_sqrt(z, 5, 5)) for A in mats], "--", color="C5")
ax.set_xlabel(r"condition number $\kappa(A)$")
ax.set_ylabel(r"$\|X - A^{1/2}\|_F / \|A^{1/2}\|_F$")
ax.set_title(r"sqrtm, $n = 64$, float32 (dashed: scalar prediction)")
ax.legend(fontsize=9, loc="center left", bbox_to_anchor=(1.02, 0.5))
plt.show()

# %% [markdown]
# The truncated methods sit exactly on their scalar predictions: their error is a property
# of the polynomial or rational function, not of rounding, and it grows with $\kappa$
# because the smallest eigenvalues move towards the branch point $z = 1$. Padé is ahead of
# Taylor by a factor of 10 at $\kappa = 10$ and by a factor of 2 at $\kappa = 10^5$. Note
# that even at $\kappa = 10$ the error is not small: with random eigenvectors
# $c = \min(\|A\|_F, \|A\|_1)$ is several times $\lambda_{\max}$, which pushes every
# $z_i$ towards 1. `"eigh"` stays at float32 precision, and Denman–Beavers nearly so,
# paying with two matrix inverses a step, which is what the product-only methods avoid.
# Newton–Schulz with its default 10 steps is accurate up to $\kappa = 10^2$ only, and
# recovers with 30 steps: the next section explains why.

# %% [markdown]
# ## 3. How the Newton–Schulz iteration converges
#
# Because $Y_0 = A/c$ and $Z_0 = I$ are functions of $A$, every iterate is too, and the
# iteration acts on each eigenvalue $a = \lambda/c$ separately, as the scalar iteration
# $y_{k+1} = y_k(3 - z_ky_k)/2$, $z_{k+1} = z_k(3 - z_ky_k)/2$. The ratio $y_k/z_k = a$ is
# invariant, and $s_k = y_k/\sqrt a$ follows the Newton–Schulz iteration for the sign
# function, $s_{k+1} = s_k(3 - s_k^2)/2$, from $s_0 = \sqrt a$. Two phases follow:
#
# - while $s_k \ll 1$ it only grows by a factor $3/2$ per step, so it takes about
#   $\log_{3/2}(1/\sqrt a) = \log_{9/4}(c/\lambda)$ steps to reach $s \approx 1$;
# - then it converges quadratically: $1 - s_{k+1} \approx \tfrac32(1 - s_k)^2$.
#
# The smallest eigenvalue sets the pace: about $\log_{9/4}(c/\lambda_{\min}) + 4$ steps.
# Below, the iteration written out in NumPy (float64), its relative error per step on the
# matrices of the previous section, the scalar prediction, and the library (float32) at
# its default 10 steps and at 30.


# %%
def newton_schulz_errors(A, steps):
    """Relative error of Y_k against (A/c)^{1/2}, k = 1..steps, in float64."""
    A = np.asarray(A, dtype=np.float64)
    c, eye = norm_bound(A), np.eye(len(A))
    Y, Z, ref = A / c, eye, exact_power(A, 0.5) / np.sqrt(c)
    errs = []
    for _ in range(steps):
        T = 0.5 * (3 * eye - Z @ Y)
        Y, Z = Y @ T, T @ Z
        errs.append(np.linalg.norm(Y - ref) / np.linalg.norm(ref))
    return np.array(errs)


def scalar_newton_schulz_errors(A, steps):
    """The same error from the scalar iteration on the eigenvalues of A / c."""
    a = np.linalg.eigvalsh(np.asarray(A, dtype=np.float64)) / norm_bound(A)
    y, z, errs = a.copy(), np.ones_like(a), []
    for _ in range(steps):
        t = 0.5 * (3 - z * y)
        y, z = y * t, z * t
        errs.append(np.linalg.norm(y - np.sqrt(a)) / np.linalg.norm(np.sqrt(a)))
    return np.array(errs)


steps = np.arange(1, 36)
fig, ax = plt.subplots(figsize=(7, 4))
for i, idx in enumerate((0, 2, 4)):  # kappa = 10, 1e3, 1e5
    A = mats[idx]
    ax.semilogy(steps, newton_schulz_errors(A, steps[-1]), "o", ms=3, color=f"C{i}")
    ax.semilogy(
        steps,
        scalar_newton_schulz_errors(A, steps[-1]),
        "-",
        color=f"C{i}",
        label=rf"$\kappa = 10^{{{np.log10(kappas[idx]):.0f}}}$",
    )
    ax.semilogy(
        [10, 30],
        [errors["newton_schulz (10 steps)"][idx], errors["newton_schulz (30 steps)"][idx]],
        "x",
        ms=10,
        mew=2,
        color=f"C{i}",
    )
    lam_min = np.linalg.eigvalsh(np.asarray(A, dtype=np.float64))[0]
    onset = np.log(norm_bound(A) / lam_min) / np.log(9 / 4)
    ax.axvline(onset, color=f"C{i}", lw=0.8, ls=":")
ax.axhline(np.finfo(np.float32).eps, color="k", lw=0.8, label="float32 eps")
ax.set_xlabel("Newton–Schulz steps $k$")
ax.set_ylabel(r"$\|Y_k - (A/c)^{1/2}\|_F / \|(A/c)^{1/2}\|_F$")
ax.set_title(r"dots: NumPy float64, lines: scalar, crosses: spectral.sqrtm (float32)")
ax.set_ylim(1e-16, 2)
ax.legend(title=r"$n = 64$ (dotted: $\log_{9/4}(c/\lambda_{\min})$)", fontsize=9)
plt.show()

# %% [markdown]
# The matrix iteration follows the scalar one to the last digit: a slow phase whose
# length is set by $c/\lambda_{\min}$ (the dotted lines), then about four quadratic steps
# down to rounding level (8, 13 and 18 steps in all to reach $10^{-6}$). The default
# `iters=10` covers $\kappa$ up to about $10^2$ here; for ill-conditioned input raise
# `iters` (20 is enough for $\kappa = 10^5$ in float64, and 30 leaves a margin), or switch
# to Denman–Beavers, whose inverses converge in fewer steps. Scaling with a sharper bound $c$
# shortens the slow phase, which is why the library takes the smaller of $\|A\|_F$ and
# $\|A\|_1$.

# %% [markdown]
# ## 4. The derivative: a Lyapunov equation
#
# Differentiate $X^2 = A$: the tangent $\dot X$ of $X = A^{1/2}$ solves the *Lyapunov
# (Sylvester) equation*
#
# $$X\dot X + \dot X X = \dot A .$$
#
# In the eigenbasis $A = V\Lambda V^\top$, $X = V\operatorname{diag}(s)V^\top$ with
# $s_i = \sqrt{\lambda_i}$, it is diagonal: $\dot X = V\big[(V^\top\dot A V)_{ij}/(s_i +
# s_j)\big]V^\top$. For reverse mode, the operator $\mathcal L(Y) = XY + YX$ is
# self-adjoint in the trace inner product, so the cotangent $\bar A$ of a loss with
# $\bar X = \partial\ell/\partial X$ solves the same equation, $X\bar A + \bar A X = \bar X$.
# Every method of `sqrtm` shares this derivative by default (a `jax.custom_jvp` rule, so
# forward and reverse mode both work); differentiating through the iterations step by step
# is never needed. The `backward=` option says how the equation is solved:
#
# - `"eigh"`: the formula above, exact, one eigendecomposition;
# - `"newton_schulz"` (Song et al. 2022, Sec. 3.3): the matrix sign function of the block
#   matrix $H = \begin{bmatrix} X & \bar X \\ 0 & -X\end{bmatrix}$ is
#   $\begin{bmatrix} I & 2\bar A \\ 0 & -I\end{bmatrix}$, and the Newton–Schulz sign
#   iteration $H \leftarrow \tfrac12 H(3I - H^2)$, written blockwise, needs only products.
#   It is the sign iteration of section 3 on the eigenvalues of $X/c$, i.e. on
#   $\sqrt{\lambda/c}$, so it needs about $\log_{3/2}(c_X/\sqrt{\lambda_{\min}})$ steps:
#   `backward_iters`.
# - `"smith"` (the default; Smith 1968): for any $q > 0$,
#   $(X + qI)\bar A(X + qI) - (X - qI)\bar A(X - qI) = 2q(X\bar A + \bar A X)$, so with the
#   Cayley transform $T = (X - qI)(X + qI)^{-1}$ the equation becomes
#   $\bar A - T\bar A T = 2q(X + qI)^{-1}\bar X(X + qI)^{-1}$, solved by the series
#   $\bar A = \sum_k T^k(\cdot)T^k$. The eigenvalues $(s - q)/(s + q)$ of $T$ lie in
#   $(-1, 1)$, and summing by doubling ($\bar A_{j+1} = \bar A_j + T_j\bar A_jT_j$,
#   $T_{j+1} = T_j^2$, 3 products a step) squares the error at every step: with
#   $q \approx \sqrt{\lambda_{\min}(X)\lambda_{\max}(X)}$, $\|T\|_2 =
#   (\sqrt{\kappa(X)} - 1)/(\sqrt{\kappa(X)} + 1)$, 0.82 at $\kappa(X) = 100$, and 7 steps
#   give $0.82^{256} \approx 10^{-22}$. It pays one Cholesky factorization of $X + qI$.
#
# For the truncated methods (`"taylor"`, `"pade"`), `backward="autodiff"` is the fast
# alternative: JAX differentiates the polynomial or rational function itself, about three
# times the cost of the forward (far less than 20 Lyapunov steps), exactly the derivative
# of the value they return, though further from the derivative of the exact root.
#
# Here is `jax.grad` of the loss $\ell(A) = \langle \bar X, A^{1/2}\rangle$ for a fixed
# symmetric $\bar X$, at $n = 128$ and $\kappa(A) = 10^4$ ($\kappa(X) = 100$), with the
# same forward pass (`method="newton_schulz"`, `iters=25`, enough for this $\kappa$ after
# section 3) and three ways of solving the backward, against the float64 eigenbasis formula:


# %%
def lyapunov_reference(A, X_bar):
    """The exact cotangent V [(V^T X_bar V)_ij / (s_i + s_j)] V^T, s = sqrt(eig(A)), float64."""
    w, V = np.linalg.eigh(np.asarray(A, dtype=np.float64))
    s = np.sqrt(w)
    return V @ ((V.T @ np.asarray(X_bar, dtype=np.float64) @ V) / (s[:, None] + s[None, :])) @ V.T


def loss(A, **options):
    return jnp.sum(X_bar * spectral.sqrtm(A, **options))


n = 128
A = spd_with_spectrum(jax.random.key(2), np.logspace(0, -4, n))
noise = jax.random.normal(jax.random.key(3), (n, n))
X_bar = 0.5 * (noise + noise.T)
grad_ref = lyapunov_reference(A, X_bar)

for backward in (
    {"backward": "eigh"},
    {"backward": "newton_schulz", "backward_iters": 8},
    {"backward": "newton_schulz", "backward_iters": 20},  # the default backward_iters
    {"backward": "smith"},  # the default backward
):
    g = jax.grad(lambda A, b=backward: loss(A, method="newton_schulz", iters=25, **b))(A)
    print(f"relative gradient error {rel_err(g, grad_ref):.1e}  with {backward}")

# %% [markdown]
# The paper's 8 backward steps (chosen for small covariances) leave a large error here;
# the library's default of 20 is as accurate as the exact eigenbasis solve in float32. To
# see the error at every step, here is the blockwise sign iteration written
# out in NumPy (float64): with $H_k = \begin{bmatrix} B_k & C_k \\ 0 & -B_k\end{bmatrix}$,
# $B_0 = X/c_X$, $C_0 = \bar X/c_X$,
#
# $$B_{k+1} = \tfrac12 B_k(3I - B_k^2), \qquad
#   C_{k+1} = \tfrac12\big(B_kC_kB_k - B_k^2C_k + C_k(3I - B_k^2)\big),$$
#
# and $\bar A \approx C_k/2$. The crosses are `jax.grad` through `spectral.sqrtm` (float32)
# with `backward_iters=8` and `20`, on the same matrices.


# %%
def lyapunov_newton_schulz_errors(A, X_bar, steps):
    """Relative error of C_k / 2 against the exact cotangent, k = 1..steps, float64."""
    X, ref = exact_power(A, 0.5), lyapunov_reference(A, X_bar)
    c, eye = norm_bound(X), np.eye(len(X))
    B, C = X / c, np.asarray(X_bar, dtype=np.float64) / c
    errs = []
    for _ in range(steps):
        B2 = B @ B
        C = 0.5 * (B @ C @ B - B2 @ C + C @ (3 * eye - B2))
        B = 0.5 * B @ (3 * eye - B2)
        errs.append(np.linalg.norm(C / 2 - ref) / np.linalg.norm(ref))
    return np.array(errs)


steps = np.arange(1, 31)
fig, ax = plt.subplots(figsize=(7, 4))
for i, kappa in enumerate((1e2, 1e3, 1e4)):
    A_k = spd_with_spectrum(jax.random.key(2), np.logspace(0, -np.log10(kappa), n))
    ax.semilogy(
        steps,
        lyapunov_newton_schulz_errors(A_k, X_bar, steps[-1]),
        "-",
        color=f"C{i}",
        label=rf"$\kappa(A) = 10^{{{np.log10(kappa):.0f}}}$",
    )
    ref = lyapunov_reference(A_k, X_bar)
    for k in (8, 20):
        g = jax.grad(
            lambda A, k=k: loss(
                A, method="newton_schulz", iters=25, backward="newton_schulz", backward_iters=k
            )
        )(A_k)
        ax.semilogy(k, rel_err(g, ref), "x", ms=10, mew=2, color=f"C{i}")
    X_k = exact_power(A_k, 0.5)
    onset = np.log(norm_bound(X_k) / np.linalg.eigvalsh(X_k)[0]) / np.log(1.5)
    ax.axvline(onset, color=f"C{i}", lw=0.8, ls=":")
ax.axhline(np.finfo(np.float32).eps, color="k", lw=0.8, label="float32 eps")
ax.set_xlabel("backward Newton–Schulz steps (backward_iters)")
ax.set_ylabel(r"relative error of $\bar A$")
ax.set_title(r"$n = 128$; lines: NumPy float64, crosses: jax.grad (float32)")
ax.set_xticks([1, 5, 8, 10, 15, 20, 25, 30])
ax.set_ylim(1e-16, 2)
ax.legend(title=r"dotted: $\log_{3/2}(c_X/\lambda_{\min}(X))$", fontsize=9)
plt.show()

# %% [markdown]
# The error stays near 1 during the slow phase, whose length grows with $\kappa$ and with
# $n$ (through $c_X \ge \lambda_{\max}(X)$), and then drops quadratically to rounding
# level. The library's float32 gradients (crosses) sit on the float64 curves down to
# their float32 rounding level, about $10^{-5}$. At
# $n = 128$, 8 steps leave errors of 10% to 80% even for $\kappa(A) = 10^2$, while 20
# cover $\kappa(A)$ up to about $10^4$. Each step costs 5 products of $n \times n$ matrices,
# so the backward pass costs more than the forward. Smith's iteration squares its error
# at every step from the first, instead of after a slow phase: 3 steps of 3 products at
# $\kappa(A) = 10$ against 8 steps of 5, 7 against 16 at $\kappa(A) = 10^4$, for one
# Cholesky factorization; that is why it is the default for every method except `"eigh"`.

# %% [markdown]
# ## 5. The polar factor and Muon
#
# The polar factor of $G = U\Sigma V^\top$ is $\operatorname{polar}(G) = UV^\top$: all
# singular values set to 1. The Muon optimizer replaces each weight matrix's update by it.
# Newton–Schulz methods approach it with odd polynomials,
#
# $$G_{k+1} = a_kG_k + (b_kA_k + c_kA_k^2)G_k, \qquad A_k = G_kG_k^\top,$$
#
# so that $G_{k+1} = U\,p_k(\Sigma)\,V^\top$ with the scalar quintic
# $p_k(\sigma) = a_k\sigma + b_k\sigma^3 + c_k\sigma^5$: once more, a matrix iteration is a
# scalar map on the spectrum, after scaling $G_0 = G/\|G\|_F$ so that
# $\sigma \in [0, 1]$. `spectral.polar` offers two coefficient choices:
#
# - `"muon"`: $(3.4445, -4.7750, 2.0315)$ at every step (Jordan et al. 2024), a large slope
#   $p'(0)$ that lifts small singular values fast, at the price of never converging;
# - `"polar_express"`: per-step minimax-optimal quintics for $\sigma \in [10^{-3}, 1]$
#   (Amsel et al. 2025), which end with the classical quintic $(15/8, -5/4, 3/8)$ and
#   converge to $UV^\top$.
#
# A $1 \times 1$ matrix is its own SVD, so a batch of $1 \times 1$ matrices
# $[\sigma]$ with `precondition=None` makes the library evaluate the composed map
# $p_k \circ \dots \circ p_1$ for us:

# %%
sigma_lin, sigma_log = np.linspace(0, 1, 501), np.logspace(-4, 0, 301)
sigma = np.concatenate([sigma_lin, sigma_log])
max_steps = 10


def composed_map(coefficients, steps, values):
    """p_steps o ... o p_1 at `values`, evaluated by spectral.polar on 1 x 1 matrices."""
    batch = np.zeros(1024, dtype=np.float32)  # a fixed batch size: one compilation per step count
    batch[: len(values)] = values
    out = spectral.polar(
        jnp.asarray(batch).reshape(-1, 1, 1),
        steps=steps,
        coefficients=coefficients,
        precondition=None,
    )
    return np.asarray(out).ravel()[: len(values)]


maps = {
    name: {k: composed_map(name, k, sigma) for k in range(1, max_steps + 1)}
    for name in ("muon", "polar_express")
}
fig, axes = plt.subplots(2, 2, figsize=(11, 7), sharey=True)
for col, name in enumerate(maps):
    for i, k in enumerate((1, 2, 3, 5, 8)):
        color, label = plt.cm.viridis(i / 4), f"{k} step" + "s" * (k > 1)
        axes[0, col].plot(sigma_lin, maps[name][k][:501], color=color, label=label)
        axes[1, col].semilogx(sigma_log, maps[name][k][501:], color=color, label=label)
    axes[0, col].set_title(f'coefficients="{name}"')
    axes[1, col].set_xlabel(r"$\sigma$ (after scaling), log scale")
    for ax in axes[:, col]:
        ax.axhline(1, color="k", lw=0.6)
for ax in axes[:, 0]:
    ax.set_ylabel(r"$(p_k \circ \cdots \circ p_1)(\sigma)$")
axes[0, 0].legend()
fig.tight_layout()
plt.show()

# %% [markdown]
# Muon's map overshoots: after five steps every singular value above about
# $1.5 \cdot 10^{-3}$ lands somewhere in $[0.68, 1.2]$, and further steps only move it around
# inside that band. For an optimizer that is good enough, since the update direction
# matters more than exact unit singular values. Polar Express changes the polynomial at
# each step. Each $p_k$ is the best quintic, in the worst case over the interval that the
# previous steps map onto, so the first ones may oscillate widely (up to 2 after one step):
# what they buy is the steep start that lifts $\sigma = 10^{-3}$ into that interval
# quickly (bottom row). The amplitude then shrinks at every step, and after eight steps
# the map is flat at 1 down to $\sigma \approx 10^{-3}$, the bottom of the interval the
# coefficients were designed for.
#
# The same maps give the distance to the polar factor at every step for a matrix:
# $\|G_k - UV^\top\|_2 = \max_i|p_k\circ\cdots\circ p_1(\sigma_i) - 1|$. Take a
# gradient-like $64 \times 256$ matrix with singular values from 1 down to $10^{-3}$. The
# third variant is Turbo-Muon's AOL scaling (`precondition="aol"`, Boissin et al. 2025):
# instead of dividing by $\|G\|_F$ it scales row $i$ by
# $d_i = (\sum_j |(GG^\top)_{ij}|)^{-1/2}$, which guarantees $\|DG\|_2 \le 1$ (Prach &
# Lampert 2022, [prach2022]) and starts closer to orthogonal. The markers are the library's
# `spectral.polar(G, steps=5, ...)` on the matrix itself.

# %%
m_rows, n_cols = 64, 256
key_u, key_v = jax.random.split(jax.random.key(4))
U_g, _ = np.linalg.qr(np.asarray(jax.random.normal(key_u, (m_rows, m_rows)), dtype=np.float64))
V_g, _ = np.linalg.qr(np.asarray(jax.random.normal(key_v, (n_cols, m_rows)), dtype=np.float64))
sigma_g = np.logspace(0, -3, m_rows)
G_np = (U_g * sigma_g) @ V_g.T
G = jnp.asarray(G_np, dtype=jnp.float32)
polar_ref = U_g @ V_g.T

gram = G_np @ G_np.T
D = 1 / np.sqrt(np.abs(gram).sum(axis=1))  # AOL row scaling
start = {
    "muon": sigma_g / np.linalg.norm(G_np),
    "polar_express": sigma_g / np.linalg.norm(G_np),
    "polar_express + aol": np.linalg.svd(D[:, None] * G_np, compute_uv=False),
}
fig, ax = plt.subplots(figsize=(7, 4))
for i, (label, s0) in enumerate(start.items()):
    name = label.split(" ")[0]
    dist = [np.max(np.abs(composed_map(name, k, s0) - 1)) for k in range(1, max_steps + 1)]
    ax.semilogy(range(1, max_steps + 1), dist, "o-", ms=4, color=f"C{i}", label=label)
    Q = spectral.polar(
        G, steps=5, coefficients=name, precondition="aol" if "aol" in label else "frobenius"
    )
    if "aol" in label:  # AOL's limit is the polar factor of D G, not of G
        Q_ref = np.linalg.svd(D[:, None] * G_np, full_matrices=False)
        Q_ref = Q_ref[0] @ Q_ref[2]
    else:
        Q_ref = polar_ref
    ax.semilogy(
        5,
        np.linalg.norm(np.asarray(Q, dtype=np.float64) - Q_ref, 2),
        "x",
        ms=12,
        mew=2,
        color=f"C{i}",
    )
ax.set_xlabel("Newton–Schulz steps")
ax.set_ylabel(r"$\|G_k - \mathrm{polar}\|_2$")
ax.set_title(r"$64 \times 256$, $\sigma_i \in [10^{-3}, 1]$, float32 (crosses: spectral.polar)")
ax.legend()
plt.show()

# %% [markdown]
# Muon stalls at a distance of about 0.3, its oscillation band. Polar Express keeps going
# and reaches float32 level in nine steps here (the smallest scaled singular value,
# $4 \cdot 10^{-4}$, is just below its design interval); the AOL start saves about one
# step, at no extra cost, since the library reuses the scaled Gram matrix $DGG^\top D$ for
# the first step. Note the AOL limit is the polar factor of $DG$, not of $G$: still an
# orthogonal update, which is all that Muon needs.
#
# ### Muon in an optax chain
#
# `spectral.orthogonalize_updates()` is a stateless optax transformation that replaces
# every update with two or more dimensions by its polar factor (scaled by
# $\sqrt{\max(1, m/n)}$), and lets vectors through. After Nesterov momentum and a learning
# rate, it is Muon:

# %%
muon = optax.chain(
    optax.trace(decay=0.95, nesterov=True),
    spectral.orthogonalize_updates(),
    optax.scale_by_learning_rate(0.02),
)

params = {"w": jnp.zeros((m_rows, n_cols)), "b": jnp.zeros(m_rows)}
grads = {"w": G, "b": jnp.ones(m_rows)}
updates, state = muon.update(grads, muon.init(params), params)
sv = np.linalg.svd(np.asarray(updates["w"]) / -0.02, compute_uv=False)
print(f"singular values of the matrix update / lr: min {sv.min():.2f}, max {sv.max():.2f}")
print("bias update / lr:", np.unique(np.asarray(updates["b"]) / -0.02))

# %% [markdown]
# The gradient's singular values spanned three orders of magnitude; after five Muon steps
# those of the update lie between 0.2 (the smallest, still rising, as in the maps above)
# and 1.2, while the bias gets plain momentum SGD. In practice the
# hidden layers' weight matrices go to this chain and embeddings, heads and vectors to
# Adam (`optax.multi_transform`); `coefficients="polar_express"` and
# `precondition="aol"` are options of the same call.
#
# ## Summary
#
# - A matrix function of a symmetric matrix is a scalar function of its eigenvalues, and
#   a polynomial iteration on a matrix is a scalar iteration on its spectrum. This one
#   idea explains the accuracy of Taylor and Padé, the step counts of Newton–Schulz, the
#   backward Lyapunov solve and the polar-factor polynomials.
# - The smallest eigenvalue, relative to the normalizer $c$, decides everything: the
#   truncation error of Taylor and Padé, and the length of the slow phase of every
#   Newton–Schulz iteration.
# - `"eigh"` is the accurate reference; the product-only methods trade accuracy (Taylor,
#   Padé) or steps (Newton–Schulz) for speed on accelerators.
#
# [How to choose a solver](../../how-to-choose/#matrix-square-roots) sums up which method and
# settings to use.
