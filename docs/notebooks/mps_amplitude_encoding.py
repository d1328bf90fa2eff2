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
# # Amplitude encoding with matrix product states
#
# A quantum register of $n$ qubits holds $2^n$ amplitudes, so a function sampled on $2^n$
# grid points, normalized, *is* an $n$-qubit state: $|f\rangle = \sum_j f(x_j)\,|j\rangle
# / \lVert f\rVert$. Writing that state down classically costs $2^n$ numbers, and preparing
# it on hardware costs, in general, exponentially many gates. Both costs collapse when the
# state is a **matrix product state** (MPS, or tensor train) of small bond dimension
# $\chi$: $O(n \chi^2)$ numbers to store, and a sequence of $n$ unitaries acting on
# $\lceil\log_2\chi\rceil + 1$ qubits each to prepare (Schön et al. 2005). Bolos (2026)
# uses this to amplitude-encode Slater-type orbitals, $e^{-\zeta r}$ times a polynomial,
# and to evaluate their overlap and kinetic integrals as MPS contractions. This notebook
# goes through the pieces, with `spectral.mps`, `spectral.mps_functions`, `spectral.mpo`,
# `spectral.slater` and `spectral.tt_cross`:
#
# 1. a function on $2^n$ points as a tensor of $n$ binary digits, and TT-SVD;
# 2. why $e^{-\zeta x}$ has bond dimension 1 and $p_d(x) e^{-\zeta x}$ bond $d + 1$;
# 3. the cusp $e^{-\zeta|x - c|}$ (bond 3), on a grid of $2^{40}$ points;
# 4. operators as MPOs: the finite-difference Laplacian and $\langle f|\Delta|f\rangle$;
# 5. the 1-D STO overlap and kinetic integrals against their closed forms;
# 6. the 3-D 1s orbital: bond dimensions, bit orders and rounding;
# 7. rounding under `jax.jit`, and a gradient through it.
#
# Everything is in float64 (a $2^{40}$-point grid needs 40-bit exact indices) and runs on a
# CPU in well under a minute, most of it compilation.

# %%
# %matplotlib inline
import time

import jax

jax.config.update("jax_enable_x64", True)  # this notebook works in float64

import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np

from spectral import mpo, mps, slater
from spectral.mps_functions import cusp_mps, exp_mps, poly_exp_mps
from spectral.tt_cross import grid_function, tt_cross


def dense(psi):
    """The vector of an MPS, contracted core by core in NumPy (what `mps.to_dense` computes)."""
    out = np.ones((1, 1))
    for core in psi.cores:
        out = (out @ np.asarray(core).reshape(core.shape[0], -1)).reshape(-1, core.shape[2])
    return out.reshape(-1)


def unfolding_singular_values(x):
    """The singular values of the unfoldings x[(i_1..i_k), (i_{k+1}..i_n)], k = 1..n-1 (NumPy)."""
    x = np.asarray(x).reshape(-1)
    n = int(np.log2(x.size))
    return [np.linalg.svd(x.reshape(2**k, -1), compute_uv=False) for k in range(1, n)]


# %% [markdown]
# ## 1. A vector of $2^n$ samples is a tensor of $n$ bits
#
# Sample $f$ on $x_j = x_0 + j h$, $j = 0, \dots, 2^n - 1$, and write the index in binary,
# most significant bit first: $j = \sum_{k=1}^{n} i_k 2^{n-k}$. Then $f_j = F[i_1, i_2,
# \dots, i_n]$ is a tensor with $n$ axes of length 2 (in NumPy, `f.reshape((2,) * n)`; the
# first axis splits the grid into its left and right halves, the last one separates
# neighbouring points). An MPS writes it as a product of matrices, one per bit,
#
# $$F[i_1, \dots, i_n] = G_1[i_1]\, G_2[i_2] \cdots G_n[i_n], \qquad G_k[i_k] \in
# \mathbb R^{\chi_{k-1} \times \chi_k},\ \chi_0 = \chi_n = 1.$$
#
# The smallest possible $\chi_k$ is the rank of the **unfolding** at bond $k$, the
# $2^k \times 2^{n-k}$ matrix $F[(i_1 \dots i_k), (i_{k+1} \dots i_n)]$ whose rows are the
# $2^k$ consecutive blocks of the grid. **TT-SVD** (Oseledets 2011) finds these ranks with
# one sweep of SVDs: split off $i_1$ by an SVD of the first unfolding, keep the singular
# values above a threshold, carry $S V^\top$ to the next bit, and so on. With the default
# `criterion="frobenius"`, dropping at each of the $n - 1$ bonds singular values of total
# squared size $\delta^2 = \text{tol}^2 \lVert x\rVert^2/(n-1)$ keeps
# $\lVert x - \tilde x\rVert \le \text{tol}\,\lVert x\rVert$.
#
# A smooth bump and a random vector, both on $2^{10}$ points. We call `mps.tt_svd` under
# `jax.jit`, which needs a static `max_bond`: with it, every bond has a fixed size (here
# the largest a bond can have at $n = 10$, so nothing is capped), zero-padded, and the
# kept ranks come back in `result.ranks` (section 7 says more). One compilation then
# serves every vector of this length in the sections below.

# %%
n = 10
x = np.arange(2**n) / 2**n  # [0, 1), h = 2^-10
bump = np.exp(-((x - 0.4) ** 2) / 0.02) * np.cos(12 * x)
noise = np.random.default_rng(0).standard_normal(2**n)

F = bump.reshape((2,) * n)
assert F[1, 0, 1, 0, 0, 0, 0, 0, 0, 1] == bump[0b1010000001]  # bits, most significant first

tt_svd_10 = jax.jit(lambda v, tol: mps.tt_svd(v, tol=tol, max_bond=32))  # 32 = 2^(10/2)
tol = 1e-10
smooth, rough = tt_svd_10(bump, tol), tt_svd_10(noise, tol)
for name, result in (("bump", smooth), ("noise", rough)):
    r = [1, *result.ranks.tolist(), 1]
    storage = sum(2 * r[k] * r[k + 1] for k in range(n))
    print(f"{name:5s}: ranks {r[1:-1]}, {storage} numbers (dense: {2**n})")
error = np.linalg.norm(np.asarray(mps.to_dense(smooth.mps)) - bump)
print(f"||x - x_tt|| / ||x|| = {error / np.linalg.norm(bump):.1e} (tol {tol:.0e})")

# the promise of TT-SVD, and what random data costs: the largest rank each bond allows
assert error <= tol * np.linalg.norm(bump)
assert rough.ranks.tolist() == [min(2**k, 2 ** (n - k)) for k in range(1, n)]
assert max(smooth.ranks.tolist()) < 16
np.testing.assert_allclose(dense(smooth.mps), mps.to_dense(smooth.mps), rtol=1e-14, atol=1e-15)

fig, axes = plt.subplots(1, 2, figsize=(10, 3.3))
for ax, vec, title in ((axes[0], bump, "smooth bump"), (axes[1], noise, "random vector")):
    for k, s in enumerate(unfolding_singular_values(vec), start=1):
        ax.semilogy(np.arange(1, len(s) + 1), s / s[0], ".-", color=plt.cm.viridis(k / n))
    ax.set_title(f"{title}: singular values at bonds 1..{n - 1}")
    ax.set_xlabel("index $i$")
    ax.set_ylim(1e-17, 2)
axes[0].set_ylabel(r"$\sigma_i / \sigma_1$")
plt.show()

# %% [markdown]
# The bump's singular values fall to roundoff after about ten at every bond: its blocks
# are all combinations of a few smooth shapes. The random vector's do not fall at all, and
# TT-SVD keeps the full $\min(2^k, 2^{n-k})$ (the MPS is then larger than the vector).
# Amplitude encoding pays off exactly for the first kind of function, and for some of
# them the MPS can be written down without ever sampling the $2^n$ points.
#
# ## 2. Exponentials have rank 1, $p_d(x)\,e^{-\zeta x}$ rank $d + 1$
#
# With $x_j = x_0 + \sum_k w_k i_k$, $w_k = h\,2^{n-k}$, the exponential factorizes over
# the bits,
#
# $$e^{-\zeta x_j} = e^{-\zeta x_0} \prod_{k=1}^{n} e^{-\zeta w_k i_k},$$
#
# so every unfolding has rank 1 and each core is a $1 \times 1$ matrix per bit value.
# A polynomial of degree $d$ of a sum of bits is not a product, but for any split of the
# bits into a left part $s_L$ and a right part $s_R$, $(s_L + s_R)^m = \sum_{l \le m}
# \binom{m}{l} s_L^l s_R^{m-l}$: every right block is a combination of the $d + 1$
# functions $s_R^l e^{-\zeta s_R}$, so $p_d(x) e^{-\zeta x}$ has rank $d + 1$ (Oseledets
# 2013). `exp_mps` and `poly_exp_mps` write these cores directly, in $O(n d^2)$
# operations: the bond carries the monomials $(1, s, \dots, s^d)$ of the partial sum,
# and each bit shifts them with a binomial matrix. They must equal the sampled vectors,
# and TT-SVD of the samples must find the same ranks:

# %%
n, zeta, x0, h = 10, 1.0, 0.0, 8.0 / 2**10
x = x0 + h * np.arange(2**n)  # [0, 8)
coeffs = np.array([1.0, -2.0, 0.5, 0.3])  # p(x) = 1 - 2x + x^2/2 + 3x^3/10, ascending

for d in range(4):
    c = coeffs[: d + 1]
    psi = poly_exp_mps(jnp.asarray(c), zeta, num_sites=n, x0=x0, h=h)
    sampled = np.polynomial.polynomial.polyval(x, c) * np.exp(-zeta * x)
    found = tt_svd_10(sampled, 1e-12)
    gap = np.max(np.abs(dense(psi) - sampled)) / np.max(np.abs(sampled))
    expected = tuple(min(d + 1, 2 ** (k + 1), 2 ** (n - k - 1)) for k in range(n - 1))
    assert psi.bond_dims == expected  # d + 1 away from the ends
    assert tuple(found.ranks.tolist()) == expected  # TT-SVD of the samples agrees
    assert gap < 1e-13  # the analytic cores are the samples, to rounding
    print(f"d = {d}: poly_exp_mps bonds {psi.bond_dims}, max |psi - f| / max |f| = {gap:.1e}")

assert exp_mps(zeta, num_sites=n, x0=x0, h=h).bond_dims == (1,) * (n - 1)

fig, ax = plt.subplots(figsize=(6, 3.3))
for d in range(4):
    f = np.polynomial.polynomial.polyval(x, coeffs[: d + 1]) * np.exp(-zeta * x)
    s = unfolding_singular_values(f)[n // 2 - 1]  # the middle bond: 32 x 32
    ax.semilogy(np.arange(1, 8), (s / s[0])[:7], "o-", label=f"$d = {d}$")
ax.set_xlabel("index $i$")
ax.set_ylabel(r"$\sigma_i / \sigma_1$ at the middle bond")
ax.set_title(r"$p_d(x)\,e^{-\zeta x}$: $d + 1$ singular values, then roundoff")
ax.legend(fontsize=8)
plt.show()

# %% [markdown]
# The algebra of MPS follows the same bookkeeping: a sum has the bonds of its terms added
# (`mps.add`, block-diagonal cores), an elementwise product has them multiplied
# (`mps.hadamard`, Kronecker products of cores). So $e^{-x} + e^{-3x}$ has bond 2, and
# $x \cdot e^{-x}$, the product of the grid $x_j$ (`mpo.grid_mps`, bond 2) with
# $e^{-x}$ (bond 1), has bond 2, the rank of $p_1(x) e^{-x}$:

# %%
e1 = exp_mps(1.0, num_sites=n, x0=x0, h=h)
e3 = exp_mps(3.0, num_sites=n, x0=x0, h=h)
total = e1 + e3  # mps.add
xe = mps.hadamard(mpo.grid_mps(n, x0, h), e1)
print("e^-x + e^-3x bonds:", total.bond_dims)
print("x e^-x bonds:      ", xe.bond_dims)
assert total.bond_dims == (2,) * (n - 1)
assert xe.bond_dims == (2,) * (n - 1)
np.testing.assert_allclose(dense(total), np.exp(-x) + np.exp(-3 * x), rtol=1e-13)
np.testing.assert_allclose(dense(xe), x * np.exp(-x), rtol=1e-13, atol=1e-16)

# %% [markdown]
# ## 3. The cusp $e^{-\zeta|x - c|}$ has rank 3, on any grid
#
# A Slater-type orbital has a cusp at its nucleus. Let $t = \lfloor (c - x_0)/h\rfloor$
# be the last grid index left of $c$. Reading the bits of $j$ from the top and comparing
# them with those of $t$, a prefix is in one of three states: already **below** $t$ (all
# remaining points are left of $c$, where the function is $e^{\zeta(x - c)}$: rank 1),
# already **above** (right of $c$, $e^{-\zeta(x - c)}$: rank 1), or **equal** so far (one
# more channel, which follows the bits of $t$). `cusp_mps` builds this automaton, bond 3,
# for any real $c$; `poly_cusp_mps` adds polynomial factors, bond $2d + 3$. (If $c$ falls
# on a boundary between blocks of $2^m$ points, no such block contains the cusp, and the
# bonds that split the grid into those blocks have rank 2; `cusp_mps` keeps the bound 3
# there, as $c$ is data, not a static size.)

# %%
n, lower, upper = 10, -8.0, 8.0
h = (upper - lower) / 2**n
x = lower + h * np.arange(2**n)
zeta, c = 1.3, 0.35  # between grid points 534 and 535: inside a block at every level
cusp = cusp_mps(zeta, c, num_sites=n, x0=lower, h=h)
sampled = np.exp(-zeta * np.abs(x - c))
found = tt_svd_10(sampled, 1e-12)
print("cusp_mps bonds:", cusp.bond_dims)
print("TT-SVD ranks:  ", tuple(found.ranks.tolist()))
assert cusp.bond_dims == (2,) + (3,) * (n - 3) + (2,)
assert tuple(found.ranks.tolist()) == cusp.bond_dims
np.testing.assert_allclose(dense(cusp), sampled, rtol=0, atol=1e-14)

# %% [markdown]
# Nothing in the construction depends on $2^n$, only on $n$: a grid of $2^{40} \approx
# 1.1 \times 10^{12}$ points (the dense vector would take 8.8 TB) is 40 cores of at most
# $3 \times 2 \times 3$ numbers. Inner products and norms contract the cores one bit at a
# time ($O(n\chi^3)$), so the integrals
#
# $$h \lVert a\rVert^2 \approx \int e^{-2\zeta|x - c|}\,dx = \frac1\zeta,\qquad
# h\langle a, b\rangle \approx \int e^{-\zeta|x - c_a|} e^{-\zeta|x - c_b|}\,dx =
# \frac{(1 + \rho) e^{-\rho}}{\zeta},\quad \rho = \zeta|c_a - c_b|,$$
#
# agree with their closed forms to about 13 digits, in milliseconds:

# %%
n, lower, upper = 40, -16.0, 16.0
h = (upper - lower) / 2**n
ca, cb = -0.5, 0.7


def timed(fn):
    """fn() after a warm-up call (the first call compiles), and its time in ms."""
    jax.block_until_ready(fn())
    start = time.perf_counter()
    out = jax.block_until_ready(fn())
    return out, 1e3 * (time.perf_counter() - start)


a, t_build = timed(lambda: cusp_mps(zeta, ca, num_sites=n, x0=lower, h=h))
b = cusp_mps(zeta, cb, num_sites=n, x0=lower, h=h)
ab, t_inner = timed(lambda: mps.inner(a, b))
na, t_norm = timed(lambda: mps.norm(a))
rho = zeta * abs(ca - cb)
S_num, S_exact = h * float(ab), (1 + rho) * np.exp(-rho) / zeta
N_num = h * float(na) ** 2
print(f"{2**n:.3e} points, {sum(core.size for core in a.cores)} numbers per MPS")
print(f"build {t_build:.1f} ms, inner {t_inner:.1f} ms, norm {t_norm:.1f} ms")
print(f"h <a, b> = {S_num:.14f}, closed form {S_exact:.14f}")
print(f"h |a|^2  = {N_num:.14f}, closed form {1 / zeta:.14f}")
assert abs(S_num - S_exact) < 1e-10 * S_exact
assert abs(N_num - 1 / zeta) < 1e-10 / zeta

# %% [markdown]
# ## 4. Operators as MPOs: the Laplacian
#
# A linear operator on grid functions is a matrix with rows and columns indexed by bits,
# $O[i_1 \dots i_n, j_1 \dots j_n] = W_1[i_1, j_1] \cdots W_n[i_n, j_n]$: a matrix
# product operator (MPO). The shift $(S_{+1} f)_j = f_{j+1}$ is binary addition of 1, a
# carry automaton read from the last bit: bond 2. The second-difference Laplacian
# $\Delta_h = (S_{+1} - 2I + S_{-1})/h^2$ is one automaton whose carries lie in
# $\{-1, 0, 1\}$: bond 3 (Kazeev & Khoromskij 2012), where adding the three MPOs term by
# term would give bond $2 + 1 + 2 = 5$. With `boundary="dirichlet"` the grid holds the
# interior points $x_j = (j + 1)h$, $h = 1/(2^n + 1)$, of $[0, 1]$ and $f = 0$ outside.

# %%
h4 = 1.0 / (2**4 + 1)
shift_up = mpo.shift_mpo(4, offset=1, boundary="open")
shift_down = mpo.shift_mpo(4, offset=-1, boundary="open")
identity = mpo.shift_mpo(4, offset=0)
by_terms = (shift_up + shift_down - 2.0 * identity) * (1 / h4**2)  # mpo.mpo_add, mpo_scale
lap = mpo.laplacian_mpo(4, h4)
print("shift bonds:", shift_up.bond_dims, " sum of terms:", by_terms.bond_dims)
print("laplacian_mpo bonds:", lap.bond_dims)
tridiag = (np.eye(16, k=1) - 2 * np.eye(16) + np.eye(16, k=-1)) / h4**2
np.testing.assert_allclose(mpo.mpo_to_dense(lap), tridiag, rtol=1e-14)
np.testing.assert_allclose(mpo.mpo_to_dense(by_terms), tridiag, rtol=1e-14)
assert lap.bond_dims == (3, 3, 3)
assert by_terms.bond_dims == (5, 5, 5)

# %% [markdown]
# Applying an MPO to an MPS (`mpo.apply`, or `@`) multiplies the bonds, $3\chi$ here;
# `mpo.expectation` computes $\langle f|O|f\rangle$ in one sweep without forming $Of$.
# For $f(x) = x(1 - x)e^{-x}$ (bond 3 from `poly_exp_mps`), summation by parts gives
# $h\langle f|\Delta_h|f\rangle \to \int_0^1 f f'' = -\int_0^1 f'^2$, with the
# $O(h^2)$ error of the central difference, until roundoff takes over: the three terms
# of $\Delta_h f$ are $O(h^{-2})$ times larger than their sum, so the error grows like
# $\varepsilon/h^2$ (the `form="gradient"` of `slater.kinetic`, which differences first
# and then contracts, only loses $\varepsilon/h$).

# %%
p = jnp.array([0.0, 1.0, -1.0])  # x (1 - x)
nodes, weights = np.polynomial.legendre.leggauss(40)  # Gauss-Legendre on [0, 1]
t = (nodes + 1) / 2
# -int_0^1 f'^2 with f' = (1 - 3x + x^2) e^-x, to machine precision
exact = -0.5 * weights @ ((1 - 3 * t + t**2) * np.exp(-t)) ** 2

f8 = poly_exp_mps(p, 1.0, num_sites=8, x0=1 / 257, h=1 / 257)
L8 = mpo.laplacian_mpo(8, 1 / 257)
assert (L8 @ f8).bond_dims == tuple(3 * b for b in f8.bond_dims)
assert abs(mps.inner(f8, L8 @ f8) - mpo.expectation(f8, L8, f8)) < 1e-12 * 257**2

sizes = np.arange(3, 25)
errors = []
for m in sizes:
    hm = 1.0 / (2**m + 1)
    f = poly_exp_mps(p, 1.0, num_sites=int(m), x0=hm, h=hm)
    value = hm * float(mpo.expectation(f, mpo.laplacian_mpo(int(m), hm), f))
    errors.append(abs(value - exact) / abs(exact))
errors = np.array(errors)
hs = 1.0 / (2.0**sizes + 1)
slope = np.polyfit(np.log(hs[:8]), np.log(errors[:8]), 1)[0]
print(f"-int f'^2 = {exact:.12f}; observed order on the coarse grids: {slope:.2f}")
assert 1.9 < slope < 2.1  # second order
assert errors.min() < 1e-7

fig, ax = plt.subplots(figsize=(6, 3.3))
ax.loglog(hs, errors, "o-", label=r"$|h\langle f|\Delta_h|f\rangle + \int f'^2|$ / $\int f'^2$")
ax.loglog(hs, 0.5 * hs**2, "k--", lw=1, label="$h^2 / 2$")
ax.loglog(hs, 1e-16 / hs**2, "k:", lw=1, label=r"$\varepsilon / h^2$ (roundoff)")
ax.set_xlabel("$h$")
ax.set_ylim(1e-13, 1)
ax.legend(fontsize=8)
ax.set_title("the Laplacian MPO, $2^3$ to $2^{24}$ points")
plt.show()

# %% [markdown]
# ## 5. One-electron integrals of 1-D Slater-type orbitals
#
# The normalized 1-D STO is $\phi_{\zeta, c}(x) = \sqrt\zeta\, e^{-\zeta|x - c|}$
# (`slater.sto_1d`, the cusp MPS scaled). For two of them with equal exponents and
# centers a distance $R$ apart, $\rho = \zeta R$, the overlap and kinetic integrals have
# closed forms,
#
# $$S = \int \phi_a \phi_b = (1 + \rho)e^{-\rho}, \qquad T = -\frac12\int \phi_a
# \phi_b'' = \frac{\zeta^2}{2}(1 - \rho)e^{-\rho}$$
#
# (the cusp makes $\phi''$ contain $-2\zeta\sqrt\zeta\,\delta(x - c)$, which gives the
# $e^{-\rho}$ term). On the grid they are $S \approx h\langle a, b\rangle$
# (`slater.overlap`), $T \approx -\tfrac h2 \langle a|\Delta_h|b\rangle$
# (`slater.kinetic`), and a potential $v$ given as an MPS enters as $h\langle a|
# \operatorname{diag}(v)|b\rangle$ (`slater.potential_energy`, through
# `mpo.multiplication_mpo`). For the harmonic potential $v = x^2$ (bond 3, from
# `poly_exp_mps` with $\zeta = 0$), $\langle\phi_a|x^2|\phi_a\rangle = c_a^2 +
# 1/(2\zeta^2)$. The box is $[-16, 16)$ and the nuclei at $\pm R/2$ fall on grid points,
# so all three converge like $h^2$:

# %%
zeta, R, lower, upper = 1.0, 1.5, -16.0, 16.0
S_exact = float(slater.overlap_1d_exact(zeta, R))
T_exact = float(slater.kinetic_1d_exact(zeta, R))
V_exact = (R / 2) ** 2 + 1 / (2 * zeta**2)
print(f"closed forms: S = {S_exact:.12f}, T = {T_exact:.12f}, <x^2> = {V_exact}")

qubits = np.arange(8, 25, 2)
table = []
for m in qubits:
    m = int(m)
    h = slater.grid_spacing(m, lower, upper)
    a = slater.sto_1d(zeta, -R / 2, num_sites=m, lower=lower, upper=upper)
    b = slater.sto_1d(zeta, R / 2, num_sites=m, lower=lower, upper=upper)
    x2 = poly_exp_mps(jnp.array([0.0, 0.0, 1.0]), 0.0, num_sites=m, x0=lower, h=h)
    S = float(slater.overlap(a, b, volume_element=h))
    T = float(slater.kinetic(a, b, h=h))
    V = float(slater.potential_energy(a, x2, a, volume_element=h))
    table.append((abs(S / S_exact - 1), abs(T / T_exact - 1), abs(V / V_exact - 1)))
    print(f"n = {m:2d}: S = {S:.12f}  T = {T:.12f}  <x^2> = {V:.12f}")
table = np.array(table)
assert a.max_bond == 3
assert x2.max_bond == 3
# h^2: each step of two qubits divides the error by 16 (until roundoff, for T)
assert np.all(table[1:5, 0] < table[:4, 0] / 15)
assert np.all(table[1:5, 1] < table[:4, 1] / 15)
assert table[-1, 0] < 1e-11
assert table[-1, 2] < 1e-10
assert table[:, 1].min() < 1e-7

hs = 32.0 / 2.0**qubits
fig, ax = plt.subplots(figsize=(6, 3.3))
for col, label in enumerate(["overlap $S$", "kinetic $T$", r"$\langle x^2\rangle$"]):
    ax.loglog(hs, table[:, col], "o-", label=label)
ax.loglog(hs, 0.3 * hs**2, "k--", lw=1, label="$h^2$")
ax.set_xlabel("$h$ ($2^8$ to $2^{24}$ points on $[-16, 16)$)")
ax.set_ylabel("relative error")
ax.legend(fontsize=8)
plt.show()

# %% [markdown]
# The kinetic energy turns around at about $2^{18}$ points, where the $\varepsilon/h^2$
# roundoff of the Laplacian form (section 4) meets the $h^2$ discretization error; the
# overlap and the potential keep converging. Where the nuclei fall between grid points,
# the cusp's contribution to the Riemann sum is only first order in $h$ (see the module
# docstring of `spectral.slater`).
#
# ## 6. The 3-D 1s orbital: bond dimensions, bit orders and rounding
#
# In 3-D the 1s orbital $\psi(\mathbf r) = \sqrt{\zeta^3/\pi}\, e^{-\zeta r}$, $r =
# \sqrt{x^2 + y^2 + z^2}$, is not a product of functions of $x$, $y$, $z$, and has no
# small exact MPS. On a $(2^5)^3$ grid of $[-16, 16)^3$ (15 qubits), TT-SVD of the
# normalized state, dropping singular values below $10^{-12}$ (`criterion="absolute"`),
# shows how large the bonds must be, for two orders of the 15 bits: **sequential**
# $x_1 \dots x_5\, y_1 \dots y_5\, z_1 \dots z_5$ and **interleaved** $x_1 y_1 z_1\, x_2
# y_2 z_2 \dots$ (coarse to fine). As in section 1, TT-SVD runs under `jax.jit` with
# `max_bond` the largest possible bond (128), so nothing is capped.

# %%
q, lower, upper, zeta = 5, -16.0, 16.0, 1.0
orbital = slater.sto_3d_function("1s", zeta, (0.0, 0.0, 0.0))
g = lower + (upper - lower) / 2**q * np.arange(2**q)
X, Y, Z = np.meshgrid(g, g, g, indexing="ij")
grid = np.asarray(orbital(jnp.asarray(X), jnp.asarray(Y), jnp.asarray(Z)))
state = grid / np.linalg.norm(grid)  # the amplitudes: unit 2-norm
n = 3 * q
largest = [min(2**k, 2 ** (n - k)) for k in range(1, n)]

ranks, spectra = {}, {}
for order in ("sequential", "interleaved"):
    svd = jax.jit(
        lambda v, order=order: mps.tt_svd(
            v, tol=1e-12, criterion="absolute", max_bond=max(largest), order=order
        )
    )
    result = svd(jnp.asarray(state))
    ranks[order] = result.ranks.tolist()
    if order == "sequential":
        sequential = result.mps  # kept for the rounding below
    # the same unfoldings in NumPy: the interleaved order is a transpose of the bit axes
    bits = state.reshape((2,) * n)
    if order == "interleaved":
        bits = bits.transpose([c * q + level for level in range(q) for c in range(3)])
    spectra[order] = unfolding_singular_values(bits)
    print(f"{order:12s} bonds {ranks[order]}, max {max(ranks[order])}")

assert max(ranks["sequential"]) == 44
assert max(ranks["interleaved"]) > 100
for order in ranks:  # TT-SVD keeps what the unfoldings' spectra say
    assert ranks[order] == [int(np.sum(s > 1e-12)) for s in spectra[order]]

fig, ax = plt.subplots(figsize=(6, 3.3))
bonds = np.arange(1, n)
ax.semilogy(bonds, largest, "k:", label=r"largest possible, $\min(2^k, 2^{15-k})$")
for order in ranks:
    ax.semilogy(bonds, ranks[order], "o-", label=order)
ax.set_xlabel("bond $k$")
ax.set_ylabel(r"$\chi_k$")
ax.set_title(r"1s orbital, $(2^5)^3$ grid, singular values $> 10^{-12}$")
ax.legend(fontsize=8)
plt.show()

# %% [markdown]
# The sequential order wins here. Its bond after bit 5 separates $x$ from $(y, z)$, and
# $e^{-\zeta r}$ needs only 13 functions of $x$ at this threshold; its largest bond, 44,
# sits inside $y$, where the left side knows $x$ and the top bits of $y$. The interleaved
# middle bond separates the coarse position (the top bits of all three coordinates: $2^7$
# cells) from the position inside a cell, and the profile of $e^{-\zeta r}$ inside a cell
# changes from cell to cell with the direction and distance of the nucleus: nearly all
# 128 channels are needed. For this orbital the sequential order is the better one at
# every threshold (below), and it is the order `slater.sto_3d` uses.
#
# Rounding trades bond dimension for accuracy. `mps.round` (TT-rounding, Oseledets 2011:
# an orthogonalizing sweep, then truncated SVDs) with an absolute threshold $\tau$ on the
# normalized state drops at each bond the singular values below $\tau$. Its fidelity is
# the overlap $\langle\psi, \psi_\tau\rangle$: each truncation is an orthogonal projection
# that removes the squared norm it discards, so with $\epsilon^2$ the sum of all the
# discarded $\sigma^2$ (`result.error` is $\epsilon$), $1 - \lVert\psi_\tau\rVert^2 =
# \epsilon^2$, $\lVert\psi - \psi_\tau\rVert \le \epsilon$, and $1 - \langle\psi,
# \psi_\tau\rangle \le \epsilon^2$. One jitted function (static `max_bond`, traced
# threshold) serves all thresholds:

# %%
round_44 = jax.jit(lambda psi, tau: mps.round(psi, tol=tau, max_bond=44, criterion="absolute"))
thresholds = 10.0 ** -np.arange(1, 13)
chis, overlap_errors, discarded = [], [], []
for tau in thresholds:
    result = round_44(sequential, tau)
    chis.append(int(result.ranks.max()))
    overlap_errors.append(1 - abs(dense(result.mps) @ state.reshape(-1)))
    discarded.append(float(result.error))
    print(f"tau = {tau:.0e}: chi = {chis[-1]:2d}, 1 - |<psi, psi_tau>| = {overlap_errors[-1]:.1e}")
chis, overlap_errors, discarded = np.array(chis), np.array(overlap_errors), np.array(discarded)
predicted = [max(int(np.sum(s > tau)) for s in spectra["sequential"]) for tau in thresholds]
assert chis[-1] == 44
assert np.all(np.diff(chis) >= 0)
assert np.all(np.abs(chis - predicted) <= 1)  # rounding keeps what the unfoldings' spectra say
assert np.all(overlap_errors <= discarded**2 + 1e-14)  # the bound above, up to rounding

fig, axes = plt.subplots(1, 2, figsize=(10, 3.3))
for order in spectra:
    counts = [max(int(np.sum(s > tau)) for s in spectra[order]) for tau in thresholds]
    axes[0].semilogx(thresholds, counts, "o-", label=f"{order} (unfoldings)")
axes[0].semilogx(thresholds, chis, "k+", ms=10, label="sequential, mps.round")
axes[0].invert_xaxis()
axes[0].set_xlabel(r"threshold $\tau$")
axes[0].set_ylabel(r"$\max_k \chi_k$")
axes[0].legend(fontsize=8)
axes[1].semilogy(
    chis, np.maximum(overlap_errors, 1e-17), "o-", label=r"$1 - |\langle\psi, \psi_\tau\rangle|$"
)
axes[1].semilogy(chis, discarded**2, "k--", lw=1, label=r"bound $\epsilon^2$")
axes[1].set_xlabel(r"$\chi$ (sequential)")
axes[1].set_ylim(1e-17, 1)
axes[1].legend(fontsize=8)
plt.show()

# %% [markdown]
# A bond of 13 already brings the overlap error to about $10^{-8}$, and 24 to the
# roundoff level of $10^{-14}$: the orbital is cheap to encode at any useful accuracy.
#
# TT-SVD needs the dense grid, which stops being an option at some tens of millions of
# points. `spectral.tt_cross`
# builds the MPS from function values at points it picks itself (cross interpolation:
# Oseledets & Tyrtyshnikov 2010), about $n\,d^2\chi^2$ per sweep, so the same orbital at
# 12 qubits per coordinate ($2^{36}$ points) is within reach (`slater.sto_3d` wraps it).
# Here, at 5 qubits per coordinate, it can be checked against the dense state:

# %%
digits = grid_function(orbital, [q] * 3, lower, upper)  # bits -> orbital(x, y, z)
cross = tt_cross(jax.random.key(0), digits, n, tol=1e-12)
crossed = dense(cross.mps)
fidelity = crossed @ state.reshape(-1) / np.linalg.norm(crossed)
print(
    f"tt_cross: {cross.evaluations} evaluations ({cross.evaluations / 2**n:.1f} x the grid), "
    f"{cross.sweeps} sweeps, bonds {cross.ranks.tolist()}"
)
print(f"1 - <psi_cross, psi> = {1 - fidelity:.1e}")
assert cross.converged
assert 1 - fidelity < 1e-12

# %% [markdown]
# ## 7. Rounding under `jax.jit`, and gradients through it
#
# Without `max_bond`, the bonds of a rounded MPS are the ranks the data ask for, so
# their shapes are only known after the SVDs, and `mps.round` cannot run under `jax.jit`:

# %%
m, lower, upper, R = 12, -16.0, 16.0, 1.5
h = slater.grid_spacing(m, lower, upper)
phi_a = slater.sto_1d(1.0, -R / 2, num_sites=m, lower=lower, upper=upper)
phi_b = slater.sto_1d(1.0, R / 2, num_sites=m, lower=lower, upper=upper)
try:
    jax.jit(lambda psi: mps.round(psi, tol=1e-13))(phi_a + phi_b)
    raise AssertionError("round without max_bond should not trace under jit")
except ValueError as err:
    print("ValueError:", str(err).split(":")[0])

# %% [markdown]
# With `max_bond`, every bond has the static size $\min(\text{max\_bond}, \dots)$: the
# singular values below the threshold are zeroed (the padding is exact zeros), the kept
# ranks come back as an array, and the whole computation jits, vmaps and differentiates
# (the SVD's derivative skips the zero padding).
#
# Take the sum of two 1-D STOs, $\psi_\alpha = \phi_{-R/2} + \alpha\,\phi_{R/2}$, whose
# bonds add up to 6, round it to `max_bond=4` under `jit`, and differentiate its squared
# norm with respect to $\alpha$ through the rounding. The closed form is
# $h\lVert\psi_\alpha\rVert^2 \approx 1 + 2\alpha S + \alpha^2$, so $\frac{d}{d\alpha} =
# 2S + 2\alpha$ with $S = (1 + \zeta R)e^{-\zeta R}$:


# %%
def rounded_norm2(alpha):
    """h ||round(psi_alpha)||^2, and the rounding's result."""
    result = mps.round(phi_a + alpha * phi_b, tol=1e-13, max_bond=4)
    return h * mps.inner(result.mps, result.mps), result


value_and_grad = jax.jit(jax.value_and_grad(rounded_norm2, has_aux=True))
alpha = 0.5
(value, result), grad = value_and_grad(alpha)
S = float(slater.overlap_1d_exact(1.0, R))
print("bonds of psi:", (phi_a + alpha * phi_b).bond_dims)
print("rounded (static):", result.mps.bond_dims, " kept ranks:", result.ranks.tolist())
print(f"h |psi|^2 = {float(value):.10f}, closed form {1 + 2 * alpha * S + alpha**2:.10f}")
print(f"d/dalpha  = {float(grad):.10f}, closed form {2 * S + 2 * alpha:.10f}")

ranks = result.ranks.tolist()
assert result.mps.max_bond == 4
assert max(ranks) == 4
for core, r in zip(result.mps.cores[:-1], ranks, strict=True):
    assert np.all(np.asarray(core)[:, :, r:] == 0)  # the padding is exact zeros
assert abs(float(grad) - (2 * S + 2 * alpha)) < 1e-4  # the O(h^2) of the grid, h = 1/128
assert abs(float(value) - (1 + 2 * alpha * S + alpha**2)) < 1e-4

# %% [markdown]
# The sum of the two cusps needs at most 4 channels, not 6, and rounding finds that under
# `jit`: a block of the grid left of both nuclei, between them, or right of both is a
# combination of $e^{\zeta x}$ and $e^{-\zeta x}$ (2 channels), and each block that
# contains a nucleus adds one. From blocks of 32 points down the bonds drop to 2: the
# nuclei sit at grid indices 1952 and 2144, multiples of 32, so no such block contains
# one (section 3). The derivative through the rounding matches the closed form to the
# $O(h^2)$ of the grid.
#
# ## References
#
# - M. Schön, E. Solano, F. Verstraete, J. I. Cirac and M. M. Wolf (2005), "Sequential
#   generation of entangled multiqubit states", Phys. Rev. Lett. 95, 110503.
# - A. Bolos (2026), "Amplitude Encoding of Slater-Type Orbitals via Matrix Product
#   States: Efficient State Preparation and Integral Evaluation on Quantum Hardware".
# - I. V. Oseledets (2011), "Tensor-train decomposition", SIAM J. Sci. Comput. 33(5),
#   2295-2317.
# - I. V. Oseledets (2013), "Constructive representation of functions in low-rank tensor
#   formats", Constr. Approx. 37, 1-18.
# - V. A. Kazeev and B. N. Khoromskij (2012), "Low-rank explicit QTT representation of the
#   Laplace operator and its inverse", SIAM J. Matrix Anal. Appl. 33(3), 742-758.
# - I. Oseledets and E. Tyrtyshnikov (2010), "TT-cross approximation for
#   multidimensional arrays", Linear Algebra Appl. 432(1), 70-88.
