r"""Slater-type orbitals as matrix product states, and their one-electron integrals.

Reproduces classically the pipeline of Bolos (2026): amplitude-encode Slater-type orbitals
(STOs) sampled on a quantics grid as MPS, and evaluate one-electron integrals by MPS
contractions, never forming the $2^n$ vector.

**1-D.** On $x_j = \ell + j h$, $h = (u - \ell)/2^n$, the normalized 1-D STO
$\phi_{\zeta,c}(x) = \sqrt{\zeta}\, e^{-\zeta |x - c|}$ is the two-sided cusp MPS of
`spectral.mps_functions.cusp_mps` (bond dimension at most 3), built in $O(n)$. Integrals are
Riemann sums, contractions of MPS and MPOs:

- overlap $S = \int \phi_a \phi_b \approx h \langle a, b\rangle$;
- kinetic $T = -\tfrac12 \int \phi_a \phi_b'' \approx -\tfrac{h}{2} \langle a | \Delta_h | b
  \rangle$ with the finite-difference Laplacian MPO (`spectral.mpo.laplacian_mpo`, bond 3)
  and a natural boundary at the box's ends (see `kinetic`);
- nuclear attraction $V = -Z \int \phi_a \phi_b\, v(x - C)$ with the softened Coulomb
  $v(s) = 1/\sqrt{s^2 + \varepsilon^2}$ (the exact $1/|s|$ is not integrable in 1-D), as
  $h \langle a | \operatorname{diag}(v) | b\rangle$, $v$ an MPS built by TT-cross.

Closed forms for equal exponents, $\rho = \zeta R$, $R = |c_a - c_b|$:
$S = (1 + \rho)e^{-\rho}$ and $T = \tfrac{\zeta^2}{2}(1 - \rho)e^{-\rho}$ (the cusp's
$\delta$ in $\phi''$ gives the $e^{-\rho}$ term).

**3-D** (Cartesian grid, $n$ qubits per coordinate, sequential $x|y|z$ bit order): the 1s
STO $\sqrt{\zeta^3/\pi}\,e^{-\zeta r}$ and the 2s STO $\sqrt{\zeta^5/(3\pi)}\, r e^{-\zeta r}$
are not separable; their MPS come from TT-cross (`spectral.tt_cross`) on function values,
so $n = 12$ qubits per coordinate ($2^{36}$ points) is reachable. $S \approx h^3 \langle a,
b\rangle$, $T \approx -\tfrac{h^3}{2}\sum_{\text{axes}} \langle a | \Delta_h^{(axis)} | b
\rangle$. Closed forms for equal exponents: 1s-1s $S = e^{-\rho}(1 + \rho + \rho^2/3)$,
$T = \tfrac{\zeta^2}{2} e^{-\rho}(1 + \rho - \rho^2/3)$; 2s-2s
$S = e^{-\rho}(1 + \rho + 4\rho^2/9 + \rho^3/9 + \rho^4/45)$ (Mulliken et al. 1949).

Discretization error: the Riemann sum of a function with a cusp converges like $O(h^2)$
when the cusps sit on grid points and like $O(h)$ in general; the finite-difference
kinetic energy like $O(h)$ at the cusp (see the experiment `bolos2026_integrals`).

References: A. Bolos, "Amplitude Encoding of Slater-Type Orbitals via Matrix Product
States: Efficient State Preparation and Integral Evaluation on Quantum Hardware" (2026);
R. S. Mulliken, C. A. Rieke, D. Orloff, H. Orloff, "Formulas and numerical tables for
overlap integrals", J. Chem. Phys. 17 (1949).

>>> from spectral import slater
>>> a = slater.sto_1d(1.0, -0.5, num_sites=12, lower=-16.0, upper=16.0)
>>> b = slater.sto_1d(1.0, 0.5, num_sites=12, lower=-16.0, upper=16.0)
>>> h = 32.0 / 2**12
>>> S = slater.overlap(a, b, volume_element=h)
>>> bool(abs(S - slater.overlap_1d_exact(1.0, 1.0)) < 1e-5)
True
"""

import math
from collections.abc import Sequence
from typing import Any

import jax.numpy as jnp
from jaxtyping import Array, PRNGKeyArray

from ._checks import check_choice
from .mpo import MPO, apply, expectation, laplacian_mpo, multiplication_mpo, shift_mpo
from .mps import MPS, inner, round as mps_round
from .mps_functions import cusp_mps
from .tt_cross import CrossResult, grid_function, tt_cross

ORBITALS_3D = ("1s", "2s")


def _check_box(num_sites: int, lower: float, upper: float, name: str = "num_sites") -> float:
    if isinstance(num_sites, bool) or not isinstance(num_sites, int) or num_sites < 1:
        raise ValueError(f"{name} must be an int >= 1; got {num_sites!r}.")
    if not float(lower) < float(upper):
        raise ValueError(f"the box must have lower < upper; got lower={lower}, upper={upper}.")
    return (float(upper) - float(lower)) / 2**num_sites


def grid_spacing(num_sites: int, lower: float, upper: float) -> float:
    r"""$h = (u - \ell)/2^n$ of the grid $x_j = \ell + j h$, $j < 2^n$."""
    return _check_box(num_sites, lower, upper)


# --- orbitals ----------------------------------------------------------------------------


def sto_1d(zeta: Any, center: Any, *, num_sites: int, lower: float, upper: float) -> MPS:
    r"""The normalized 1-D STO $\sqrt\zeta\, e^{-\zeta|x - c|}$ on $2^n$ points, bond <= 3.

    Built analytically in $O(n)$ (no sampling); `zeta` and `center` may be traced.
    """
    h = _check_box(num_sites, lower, upper)
    cusp = cusp_mps(zeta, center, num_sites=num_sites, x0=lower, h=h)
    scale = jnp.sqrt(jnp.asarray(zeta, cusp.dtype))
    return MPS([cusp.cores[0] * scale, *cusp.cores[1:]])


def _radius(center: Sequence[float]) -> Any:
    cx, cy, cz = (float(c) for c in center)

    def r(x: Array, y: Array, z: Array) -> Array:
        return jnp.sqrt((x - cx) ** 2 + (y - cy) ** 2 + (z - cz) ** 2)

    return r


def sto_3d_function(orbital: str, zeta: float, center: Sequence[float]) -> Any:
    r"""`fn(x, y, z)` of the normalized 1s or 2s STO centred at `center`."""
    check_choice(orbital, "orbital", ORBITALS_3D)
    if len(center) != 3:
        raise ValueError(f"center must have 3 coordinates; got {center!r}.")
    zeta = float(zeta)
    if not zeta > 0:
        raise ValueError(f"zeta must be > 0; got {zeta}.")
    r = _radius(center)
    if orbital == "1s":
        norm = math.sqrt(zeta**3 / math.pi)
        return lambda x, y, z: norm * jnp.exp(-zeta * r(x, y, z))
    norm = math.sqrt(zeta**5 / (3 * math.pi))
    return lambda x, y, z: norm * r(x, y, z) * jnp.exp(-zeta * r(x, y, z))


def sto_3d(
    key: PRNGKeyArray,
    orbital: str,
    zeta: float,
    center: Sequence[float],
    *,
    qubits_per_coordinate: int,
    lower: float,
    upper: float,
    tol: float = 1e-12,
    max_bond: int = 256,
) -> CrossResult:
    r"""The 3-D 1s or 2s STO on a $(2^n)^3$ Cartesian grid, by TT-cross (sequential x|y|z).

    The box is $[\ell, u)^3$. Cost: about $3 n \cdot 4 \chi^2$ evaluations per sweep and
    $O(n \chi^3)$ flops; the $2^{3n}$ vector is never formed. Not jittable (TT-cross adapts
    its ranks on the host).
    """
    _check_box(qubits_per_coordinate, lower, upper, "qubits_per_coordinate")
    fn = grid_function(
        sto_3d_function(orbital, zeta, center),
        [qubits_per_coordinate] * 3,
        [float(lower)] * 3,
        [float(upper)] * 3,
    )
    return tt_cross(key, fn, 3 * qubits_per_coordinate, tol=tol, max_bond=max_bond)


def soft_coulomb_1d(
    key: PRNGKeyArray,
    center: float,
    softening: float,
    *,
    num_sites: int,
    lower: float,
    upper: float,
    tol: float = 1e-12,
) -> CrossResult:
    r"""The softened Coulomb potential $1/\sqrt{(x - C)^2 + \varepsilon^2}$ by TT-cross."""
    _check_box(num_sites, lower, upper)
    if not float(softening) > 0:
        raise ValueError(f"softening must be > 0; got {softening}.")
    C, eps2 = float(center), float(softening) ** 2
    fn = grid_function(lambda x: 1.0 / jnp.sqrt((x - C) ** 2 + eps2), num_sites, lower, upper)
    return tt_cross(key, fn, num_sites, tol=tol)


# --- integrals ---------------------------------------------------------------------------


def overlap(a: MPS, b: MPS, *, volume_element: Any) -> Array:
    r"""$S \approx h^D \langle a, b\rangle$ (Riemann sum; `volume_element` $= h^D$)."""
    return volume_element * inner(a, b)


def _embedded(op: MPO, axis: int, qubits: int, dims: int) -> MPO:
    """A 1-D MPO acting on one coordinate of a sequential grid of `dims` coordinates."""
    eye = jnp.eye(2, dtype=op.cores[0].dtype).reshape(1, 2, 2, 1)
    cores = []
    for k in range(dims):
        cores.extend(op.cores if k == axis else [eye] * qubits)
    return MPO(cores)


FORMS = ("gradient", "laplacian")


def _face_inner(a: MPS, b: MPS, sites: range, digit: int) -> Array:
    r"""$\sum a_j b_j$ over the grid points whose digits at `sites` all equal `digit`."""

    def project(m: MPS) -> MPS:
        return MPS([c[:, digit : digit + 1, :] if k in sites else c for k, c in enumerate(m.cores)])

    return inner(project(a), project(b))


def kinetic(a: MPS, b: MPS, *, h: Any, dims: int = 1, form: str = "laplacian") -> Array:
    r"""Kinetic energy $T = \tfrac12 \int_{\text{box}} \nabla\phi_a \cdot \nabla\phi_b$.

    By finite differences: $T_h = \tfrac{h^{D-2}}{2} \sum_{\text{axes}} \sum_{j}
    (a_{j+e} - a_j)(b_{j+e} - b_j)$ over neighbouring pairs inside the box (the natural, or
    Neumann, boundary: no jump to zero at the box's faces, which would add a spurious
    $\sum_{\text{faces}} a b / (2h)$ growing as $h \to 0$). For orbitals that decay in the box
    it equals $-\tfrac12 \int \phi_a \Delta\phi_b$. Sequential grid of `dims` coordinates
    with equal qubit counts. Two ways to evaluate it, equal in exact arithmetic:

    - ``"laplacian"`` (default): $-\tfrac{h^D}{2} \sum_{\text{axes}} (\langle a | \Delta_h |
      b \rangle + \text{faces}/h^2)$ with the Dirichlet Laplacian MPO (bond 3) and the face
      sums $\sum_{\text{faces}} a b$ (contractions with the face digits fixed). The three
      terms of $\Delta_h$ are each $O(h^{-2})$ times larger than the result, so roundoff
      grows like $\varepsilon / h^2$ relative: fine to about 20 qubits per coordinate in
      float64.
    - ``"gradient"`` (for fine 1-D grids): $\tfrac{h^{D-2}}{2} \sum_{\text{axes}}
      (\langle D a, D b\rangle - \text{last face})$ with the forward difference
      $D = S_{+1} - I$ applied and compressed by lossless rounding (`spectral.mps.round`,
      tol 0) before the inner product; the cancellation then happens inside an orthogonal
      factorization, and the roundoff grows like $\varepsilon / h$: good to about 40
      qubits. It costs SVDs of the differenced states (bond $2\chi$), each shape compiled
      once.

    Cost $O(D n \chi^3)$.
    """
    check_choice(form, "form", FORMS)
    if dims not in (1, 2, 3):
        raise ValueError(f"dims must be 1, 2 or 3; got {dims!r}.")
    n = a.num_sites
    if n % dims:
        raise ValueError(f"a has {n} sites, which is not {dims} coordinates of equal qubit counts.")
    q = n // dims
    total = 0.0
    for axis in range(dims):
        sites = range(axis * q, (axis + 1) * q)
        last_face = _face_inner(a, b, sites, 1)
        if form == "laplacian":
            op = _embedded(laplacian_mpo(q, h, dtype=a.dtype), axis, q, dims)
            faces = _face_inner(a, b, sites, 0) + last_face
            total = total - expectation(a, op, b) - faces / h**2
        else:
            shift = _embedded(shift_mpo(q, offset=1, boundary="open", dtype=a.dtype), axis, q, dims)
            da = mps_round(apply(shift, a) - a).mps
            db = mps_round(apply(shift, b) - b).mps
            total = total + (inner(da, db) - last_face) / h**2
    return 0.5 * h**dims * total


def potential_energy(a: MPS, potential: MPS, b: MPS, *, volume_element: Any) -> Array:
    r"""$\int \phi_a\, v\, \phi_b \approx h^D \langle a | \operatorname{diag}(v) | b\rangle$."""
    return volume_element * expectation(a, multiplication_mpo(potential), b)


# --- closed forms ------------------------------------------------------------------------


def overlap_1d_exact(zeta: Any, distance: Any) -> Array:
    r"""$S = (1 + \rho) e^{-\rho}$, $\rho = \zeta R$, of two normalized 1-D STOs."""
    rho = zeta * distance
    return (1 + rho) * jnp.exp(-rho)


def kinetic_1d_exact(zeta: Any, distance: Any) -> Array:
    r"""$T = \tfrac{\zeta^2}{2}(1 - \rho) e^{-\rho}$ of two normalized 1-D STOs."""
    rho = zeta * distance
    return 0.5 * zeta**2 * (1 - rho) * jnp.exp(-rho)


def overlap_3d_exact(orbital: str, zeta: Any, distance: Any) -> Array:
    r"""Two-centre overlap of equal-exponent 1s or 2s STOs (Mulliken et al. 1949).

    1s: $e^{-\rho}(1 + \rho + \rho^2/3)$; 2s: $e^{-\rho}(1 + \rho + 4\rho^2/9 + \rho^3/9 +
    \rho^4/45)$.
    """
    check_choice(orbital, "orbital", ORBITALS_3D)
    rho = zeta * distance
    if orbital == "1s":
        return jnp.exp(-rho) * (1 + rho + rho**2 / 3)
    return jnp.exp(-rho) * (1 + rho + 4 * rho**2 / 9 + rho**3 / 9 + rho**4 / 45)


def kinetic_3d_1s_exact(zeta: Any, distance: Any) -> Array:
    r"""$T = \tfrac{\zeta^2}{2} e^{-\rho}(1 + \rho - \rho^2/3)$ of two equal 1s STOs."""
    rho = zeta * distance
    return 0.5 * zeta**2 * jnp.exp(-rho) * (1 + rho - rho**2 / 3)
