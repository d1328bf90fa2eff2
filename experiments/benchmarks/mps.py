r"""mps: analytic MPS of Slater-type orbitals and their integrals, against TT-SVD and TT-cross.

Three tables in one (column `table`), float64, grid $x_j = \ell + jh$, $h = (u - \ell)/2^n$ on
the box $[\ell, u) = [-16, 16)$ (per coordinate), exponent $\zeta = 1$:

1. **Analytic construction and integrals against $n$** (`spectral.mps_functions`,
   `spectral.slater`). The pair of normalized 1-D STOs $\sqrt\zeta e^{-\zeta|x \pm R/2|}$,
   $R = 2$, built by `slater.sto_1d` (the cusp MPS, bond 3), their overlap
   (`slater.overlap`) and kinetic integral (`slater.kinetic`, ``form="laplacian"`` and
   ``"gradient"``), each timed as a user calls it (eagerly): `first_s` is the first call at
   that $n$ (it compiles what the earlier sizes did not), `time_s` the median of `repeats`
   calls after it, `us_per_site` $=$ `time_s` $/ n$; the notes give the least-squares slope
   of $\log$ `time_s` against $\log n$ (1 for linear cost). `cusp_mps` (so `sto_1d`) allows
   $n \le 53$ in float64 (the grid indices must be exact); `exp_mps` ($e^{-\zeta x}$, bond 1)
   and `poly_exp_mps` ($x e^{-\zeta x}$, bond 2) on $[0, 32)$ have no such bound, so they
   also run at the sizes `sto_1d` refuses (the refusal is recorded in the notes). Errors are
   relative: `err_closed` against the continuum closed forms ($S = (1 + \rho) e^{-\rho}$,
   $T = \tfrac{\zeta^2}{2}(1 - \rho)e^{-\rho}$, $\rho = \zeta R$; $\int_0^{32} e^{-2\zeta x}
   dx$ and $\int_0^\infty x^2 e^{-2\zeta x} dx = 1/(4\zeta^3)$), which is the discretization
   error plus roundoff, and `err_riemann` against the exact value of the same Riemann sum
   (geometric series, derived below), which is roundoff alone.
2. **The same orbitals by TT-SVD of the dense vector** (NumPy sampling of both orbitals and
   `spectral.mps.tt_svd`, tol $10^{-12}$, Frobenius), steady state after a warm-up call, for
   growing $n$ until a call takes more than `dense_seconds` or the vector would need more
   than `dense_bytes`: `ratio` = its time over the analytic construction's at the same $n$,
   `chi` its largest rank, `ranks_ok` whether its ranks equal those of the analytic MPS
   rounded with the same criterion (`spectral.mps.round`), `max_diff`
   $= \max_j |\text{analytic}_j - \text{sample}_j|$ (the analytic MPS against NumPy).
3. **3-D 1s and 2s orbitals by TT-cross** (`slater.sto_3d`, centred at the origin, sequential
   x|y|z bits, tolerance `cross_tol`), one call each (the first at a size also compiles the
   new SVD buckets), for $q$ qubits per coordinate ($n = 3q$) while a call takes under
   `cross_seconds`, against TT-SVD of the dense $2^{3q}$ grid (NumPy sampling, normalized,
   `tt_svd(..., tol=1e-12, criterion="absolute")`; `first_s` and one steady call) up to
   `dense_3d_max` qubits per coordinate. `chi` is $\chi_{\max}$ of the normalized state
   rounded by `spectral.mps.round(..., tol=1e-12, criterion="absolute")` (TT-SVD: of its own
   result, the same truncation), `evals` the function values used ($2^{3q}$ for TT-SVD),
   `ratio` the TT-SVD time over TT-cross's, `max_diff` the largest difference between the two
   normalized, rounded states.

**Exact Riemann sums** (table 1). With both cusps on grid points $i_a < i_b$ ($m = i_b - i_a =
R/h$), $q = e^{-\zeta h}$, $u = 1 - q$, $E_\ell = e^{-2\zeta(c_a - \ell)}$ and
$E_u = e^{-2\zeta(u_{\text{box}} - h - c_b)}$ (the box's ends), summing the three geometric
pieces (left of $c_a$, between, right of $c_b$):

$$h\sum_j a_j b_j = \zeta h\, q^m \Big[\frac{q^2 (2 - E_\ell - E_u)}{1 - q^2} + m + 1\Big],$$
$$\frac1{2h}\sum_{j=0}^{2^n - 2} (a_{j+1} - a_j)(b_{j+1} - b_j) = \frac{\zeta}{2h}\, q^m
\Big[\frac{u (2 - E_\ell - E_u)}{1 + q} - \frac{m u^2}{q}\Big]$$

(the kinetic sum of `slater.kinetic`, natural boundary). Their expansions give the leading
discretization errors, $S_h - S = \tfrac{\zeta^2 h^2}{3} e^{-\rho}$ and $T_h - T =
-\tfrac{\zeta^4 h^2}{24}(1 + \rho) e^{-\rho}$ (cusps on grid points: $O(h^2)$). Likewise
$h \sum_j e^{-2\zeta x_j} = h(1 - e^{-64\zeta})/(1 - p)$ and $h \sum_j x_j^2 e^{-2\zeta x_j}
= h^3 p(1 + p)/(1 - p)^3$ (up to $e^{-64}$), $p = e^{-2\zeta h}$.
"""

import dataclasses
import math
import os
import statistics
import time
from collections.abc import Callable
from typing import Any

import jax
import numpy as np

from spectral import mps, slater
from spectral.mps_functions import exp_mps, poly_exp_mps

_ORBITALS_3D = ("1s", "2s")
_COLUMNS = (
    "table",
    "case",
    "n",
    "first_s",
    "time_s",
    "us_per_site",
    "ratio",
    "evals",
    "chi",
    "ranks_ok",
    "converged",
    "err_closed",
    "err_riemann",
    "max_diff",
)
_BUILD, _OVERLAP, _LAPLACIAN, _GRADIENT = (
    "sto_1d x2",
    "overlap",
    "kinetic laplacian",
    "kinetic gradient",
)
_EXP, _POLY_EXP = "exp_mps", "poly_exp_mps d=1"
_DENSE = "tt_svd x2"


@dataclasses.dataclass(frozen=True)
class _Sizes:
    qubits_1d: tuple[int, ...]  # table 1
    qubits_dense: tuple[int, ...]  # table 2
    qubits_3d: tuple[int, ...]  # table 3, per coordinate
    dense_3d_max: int  # TT-SVD of the dense 3-D grid up to this many qubits per coordinate
    repeats: int  # timed calls after the first, tables 1 and 2
    dense_seconds: float = 20.0  # table 2 stops after a size whose call took longer
    dense_bytes: float = 2e9  # ... and before one whose dense work would need more
    cross_seconds: float = 120.0  # table 3 stops after a TT-cross call that took longer
    zeta: float = 1.0
    distance: float = 2.0
    lower: float = -16.0
    upper: float = 16.0
    dense_tol: float = 1e-12  # table 2: tt_svd and round, Frobenius criterion
    cross_tol: float = 1e-15  # table 3: TT-cross tolerance (tt_cross's doctest's)
    round_tol: float = 1e-12  # table 3: absolute threshold on the normalized state
    seed: int = 0


SIZES = {
    "full": _Sizes(
        qubits_1d=(10, 20, 30, 40, 50, 60),
        qubits_dense=(10, 14, 18, 22, 24),
        qubits_3d=(4, 5, 6, 7, 8),
        dense_3d_max=7,
        repeats=5,
    ),
    "tiny": _Sizes(
        qubits_1d=(8, 12),
        qubits_dense=(8,),
        qubits_3d=(3,),
        dense_3d_max=3,
        repeats=1,
    ),
}


def _row(**values: Any) -> dict[str, Any]:
    """A table row with every column (None where it does not apply), in `_COLUMNS` order."""
    unknown = set(values) - set(_COLUMNS)
    if unknown:
        raise KeyError(f"unknown columns {sorted(unknown)}")
    return {column: values.get(column) for column in _COLUMNS}


def _timed(
    fn: Callable[[], Any], repeats: int, budget: float = math.inf
) -> tuple[float, float, Any]:
    """(first call's seconds, median of the further calls, last output), synchronized.

    Up to `repeats` further calls, fewer (at least one) once they have taken `budget` seconds.
    """
    start = time.perf_counter()
    out = jax.block_until_ready(fn())
    first = time.perf_counter() - start
    times: list[float] = []
    while len(times) < repeats and (not times or sum(times) < budget):
        start = time.perf_counter()
        out = jax.block_until_ready(fn())
        times.append(time.perf_counter() - start)
    return first, statistics.median(times), out


def _rel(value: float, reference: float) -> float:
    return abs(value - reference) / abs(reference)


# --- closed forms -----------------------------------------------------------------------------


def _centers(p: _Sizes) -> tuple[float, float]:
    return -p.distance / 2, p.distance / 2


def _riemann_1d(p: _Sizes, n: int) -> tuple[float, float]:
    """The exact Riemann sums (S_h, T_h) of the STO pair (module docstring)."""
    z, h = p.zeta, (p.upper - p.lower) / 2**n
    ca, cb = _centers(p)
    m = p.distance / h
    for c in (ca, cb):
        if not float((c - p.lower) / h).is_integer():
            raise ValueError(f"the centre {c} is not a grid point at n = {n}")
    q, u, qm = math.exp(-z * h), -math.expm1(-z * h), math.exp(-z * p.distance)
    ends = 2 - math.exp(-2 * z * (ca - p.lower)) - math.exp(-2 * z * (p.upper - h - cb))
    S = z * h * qm * (q * q * ends / -math.expm1(-2 * z * h) + m + 1)
    T = z / (2 * h) * qm * (u * ends / (1 + q) - m * u * u / q)
    return S, T


def _leading_errors(p: _Sizes, n: int) -> dict[str, float]:
    """The leading relative discretization errors of S and T (cusps on grid points)."""
    z, h, rho = p.zeta, (p.upper - p.lower) / 2**n, p.zeta * p.distance
    return {
        "S": (z * h) ** 2 / (3 * (1 + rho)),
        "T": (z * h) ** 2 * (1 + rho) / (12 * abs(1 - rho)),
    }


# --- table 1: analytic construction and integrals ---------------------------------------------


def _sto_pair(p: _Sizes, n: int) -> Callable[[], tuple[mps.MPS, mps.MPS]]:
    def build():
        return tuple(
            slater.sto_1d(p.zeta, c, num_sites=n, lower=p.lower, upper=p.upper) for c in _centers(p)
        )

    return build


class _Refused(Exception):
    """A constructor refused the size (its ValueError's message)."""


def _analytic_1d(p: _Sizes, n: int) -> list[dict[str, Any]]:
    """Build, overlap and both kinetic forms at n qubits, against the closed forms."""
    h = (p.upper - p.lower) / 2**n
    S_exact = float(slater.overlap_1d_exact(p.zeta, p.distance))
    T_exact = float(slater.kinetic_1d_exact(p.zeta, p.distance))
    S_h, T_h = _riemann_1d(p, n)
    try:
        first, seconds, (a, b) = _timed(_sto_pair(p, n), p.repeats)
    except ValueError as e:
        raise _Refused(str(e)) from e
    rows = [_row(case=_BUILD, n=n, first_s=first, time_s=seconds, chi=max(a.max_bond, b.max_bond))]
    integrals = [
        (_OVERLAP, lambda: slater.overlap(a, b, volume_element=h), S_exact, S_h),
        (_LAPLACIAN, lambda: slater.kinetic(a, b, h=h, form="laplacian"), T_exact, T_h),
        (_GRADIENT, lambda: slater.kinetic(a, b, h=h, form="gradient"), T_exact, T_h),
    ]
    for case, fn, exact, riemann in integrals:
        first, seconds, value = _timed(fn, p.repeats)
        value = float(value)
        rows.append(
            _row(
                case=case,
                n=n,
                first_s=first,
                time_s=seconds,
                err_closed=_rel(value, exact),
                err_riemann=_rel(value, riemann),
            )
        )
    return rows


def _exp_family(p: _Sizes, n: int) -> list[dict[str, Any]]:
    """exp_mps and poly_exp_mps (x e^{-zeta x}) on [0, 32): build time and h <f, f>."""
    z, width = p.zeta, p.upper - p.lower
    h = width / 2**n
    pe, ue = math.exp(-2 * z * h), -math.expm1(-2 * z * h)
    cases = [
        (
            _EXP,
            lambda: exp_mps(z, num_sites=n, x0=0.0, h=h),
            -math.expm1(-2 * z * width) / (2 * z),
            h * -math.expm1(-2 * z * width) / ue,
        ),
        (
            _POLY_EXP,
            lambda: poly_exp_mps(np.array([0.0, 1.0]), z, num_sites=n, x0=0.0, h=h),
            1 / (4 * z**3),
            h**3 * pe * (1 + pe) / ue**3,
        ),
    ]
    rows = []
    for case, build, exact, riemann in cases:
        first, seconds, f = _timed(build, p.repeats)
        value = h * float(mps.inner(f, f))
        rows.append(
            _row(
                case=case,
                n=n,
                first_s=first,
                time_s=seconds,
                chi=f.max_bond,
                err_closed=_rel(value, exact),
                err_riemann=_rel(value, riemann),
            )
        )
    return rows


def _table_1(p: _Sizes, data: dict) -> list[dict[str, Any]]:
    rows = []
    for n in p.qubits_1d:
        try:
            rows.extend(_analytic_1d(p, n))
        except _Refused as e:  # cusp_mps: n <= 53 in float64
            data["refused"][f"sto_1d n={n}"] = str(e)
        rows.extend(_exp_family(p, n))
    for row in rows:
        row["table"] = 1
        row["us_per_site"] = 1e6 * row["time_s"] / row["n"]
    for case in (_BUILD, _OVERLAP, _LAPLACIAN, _GRADIENT, _EXP, _POLY_EXP):
        points = [(row["n"], row["time_s"]) for row in rows if row["case"] == case]
        if len(points) >= 2:
            n, t = np.log(np.array(points)).T
            data["slopes"][case] = float(np.polyfit(n, t, 1)[0])
    data["leading_errors"] = {str(n): _leading_errors(p, n) for n in p.qubits_1d}
    return rows


# --- table 2: TT-SVD of the dense vector ------------------------------------------------------


def _samples_1d(p: _Sizes, n: int) -> list[np.ndarray]:
    h = (p.upper - p.lower) / 2**n
    x = p.lower + h * np.arange(2**n)
    return [np.sqrt(p.zeta) * np.exp(-p.zeta * np.abs(x - c)) for c in _centers(p)]


def _table_2(p: _Sizes, data: dict) -> list[dict[str, Any]]:
    rows = []
    for k, n in enumerate(p.qubits_dense):
        # the vector, its reshaped copy and the first unfolding's factors: ~4 vectors
        if 4 * 8 * 2**n > p.dense_bytes:
            data["skipped_dense"] = list(p.qubits_dense[k:])
            data["skipped_dense_why"] = f"more than {p.dense_bytes:.3g} bytes"
            break

        def dense(n=n):
            return [mps.tt_svd(v, tol=p.dense_tol) for v in _samples_1d(p, n)]

        first, seconds, results = _timed(dense, p.repeats, budget=p.dense_seconds / 2)
        _, analytic_s, pair = _timed(_sto_pair(p, n), p.repeats)
        rounded = [mps.round(state, tol=p.dense_tol) for state in pair]
        ranks_dense = [r.ranks.tolist() for r in results]
        ranks_analytic = [r.ranks.tolist() for r in rounded]
        max_diff = max(
            float(np.max(np.abs(np.asarray(mps.to_dense(state)) - sample)))
            for state, sample in zip(pair, _samples_1d(p, n), strict=True)
        )
        rows.append(
            _row(
                table=2,
                case=_DENSE,
                n=n,
                first_s=first,
                time_s=seconds,
                us_per_site=1e6 * seconds / n,
                ratio=seconds / analytic_s,
                evals=2 * 2**n,
                chi=max(max(r) for r in ranks_dense),
                ranks_ok=ranks_dense == ranks_analytic,
                max_diff=max_diff,
            )
        )
        data["ranks_dense"][str(n)] = ranks_dense
        data["ranks_analytic_rounded"][str(n)] = ranks_analytic
        data["analytic_build_s"][str(n)] = analytic_s
        if max(first, seconds) > p.dense_seconds and k + 1 < len(p.qubits_dense):
            data["skipped_dense"] = list(p.qubits_dense[k + 1 :])
            data["skipped_dense_why"] = f"n = {n} took more than {p.dense_seconds:g} s"
            break
    return rows


# --- table 3: 3-D orbitals by TT-cross and by TT-SVD ------------------------------------------


def _samples_3d(p: _Sizes, orbital: str, q: int) -> np.ndarray:
    h = (p.upper - p.lower) / 2**q
    x = p.lower + h * np.arange(2**q)
    r = np.sqrt(x[:, None, None] ** 2 + x[None, :, None] ** 2 + x[None, None, :] ** 2)
    z = p.zeta
    if orbital == "1s":
        return math.sqrt(z**3 / math.pi) * np.exp(-z * r)
    return math.sqrt(z**5 / (3 * math.pi)) * r * np.exp(-z * r)


def _normalized_rounded(state: mps.MPS, tol: float) -> mps.TruncationResult:
    unit = mps.scale(state, 1 / mps.norm(state))
    return mps.round(unit, tol=tol, criterion="absolute")


def _table_3(p: _Sizes, data: dict) -> list[dict[str, Any]]:
    rows = []
    root = jax.random.key(p.seed)
    for k, q in enumerate(p.qubits_3d):
        slowest = 0.0
        for i, orbital in enumerate(_ORBITALS_3D):
            start = time.perf_counter()
            cross = slater.sto_3d(
                jax.random.fold_in(root, len(_ORBITALS_3D) * q + i),
                orbital,
                p.zeta,
                (0.0, 0.0, 0.0),
                qubits_per_coordinate=q,
                lower=p.lower,
                upper=p.upper,
                tol=p.cross_tol,
            )
            jax.block_until_ready(cross.mps)
            cross_s = time.perf_counter() - start
            slowest = max(slowest, cross_s)
            rounded = _normalized_rounded(cross.mps, p.round_tol)
            cross_row = _row(
                table=3,
                case=f"{orbital} tt_cross",
                n=3 * q,
                time_s=cross_s,
                evals=int(cross.evaluations),
                chi=int(rounded.ranks.max()),
                converged=bool(cross.converged),
            )
            rows.append(cross_row)
            data["cross"][f"{orbital} q={q}"] = {
                "sweeps": int(cross.sweeps),
                "error_estimate": float(cross.error_estimate),
                "chi_unrounded": cross.mps.max_bond,
                "ranks_rounded": rounded.ranks.tolist(),
            }
            if q > p.dense_3d_max:
                continue

            def dense(orbital=orbital, q=q):
                grid = _samples_3d(p, orbital, q)
                return mps.tt_svd(
                    grid / np.linalg.norm(grid), tol=p.round_tol, criterion="absolute"
                )

            first, seconds, svd = _timed(dense, 1)
            diff = float(
                np.max(np.abs(np.asarray(mps.to_dense(rounded.mps) - mps.to_dense(svd.mps))))
            )
            chi = int(svd.ranks.max())
            cross_row["ranks_ok"] = cross_row["chi"] == chi
            cross_row["max_diff"] = diff
            rows.append(
                _row(
                    table=3,
                    case=f"{orbital} tt_svd",
                    n=3 * q,
                    first_s=first,
                    time_s=seconds,
                    ratio=seconds / cross_s,
                    evals=2 ** (3 * q),
                    chi=chi,
                    ranks_ok=cross_row["chi"] == chi,
                    max_diff=diff,
                )
            )
            data["tt_svd_3d"][f"{orbital} q={q}"] = svd.ranks.tolist()
        if slowest > p.cross_seconds and k + 1 < len(p.qubits_3d):
            data["skipped_3d"] = list(p.qubits_3d[k + 1 :])
            break
    return rows


# --- run --------------------------------------------------------------------------------------


def run(size: str) -> dict:
    """Run the benchmark at `size` ("full" or "tiny") and return its table, notes and data."""
    p = SIZES[size]
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    data: dict[str, Any] = {
        "sizes": dataclasses.asdict(p),
        "device": str(jax.devices()[0]),
        "cpus": os.cpu_count(),
        "load_average_at_start": list(load) if load else None,
        "refused": {},
        "slopes": {},
        "ranks_dense": {},
        "ranks_analytic_rounded": {},
        "analytic_build_s": {},
        "cross": {},
        "tt_svd_3d": {},
    }
    table = _table_1(p, data) + _table_2(p, data) + _table_3(p, data)
    return {"table": table, "notes": _notes(p, data), "data": data}


def _notes(p: _Sizes, data: dict) -> list[str]:
    load = data["load_average_at_start"]
    notes = [
        f"float64, device {data['device']}, {data['cpus']} CPUs"
        + (f", load average {load[0]:.1f} at the start" if load else "")
        + ": the timings are wall clock on this machine, noisy where it is shared.",
        f"Table 1: zeta = {p.zeta}, R = {p.distance}, box [{p.lower}, {p.upper}); eager calls, "
        f"first_s = first call at that n (includes compiling at the first n), time_s = median "
        f"of {p.repeats} more; us_per_site = time_s / n. exp_mps and poly_exp_mps on "
        f"[0, {p.upper - p.lower}) (value h <f, f>).",
        "Table 1, slope of log time_s against log n (1 = linear): "
        + ", ".join(f"{case} {slope:.2f}" for case, slope in data["slopes"].items())
        + ".",
        "err_closed: relative to the continuum closed form (discretization O(h^2), cusps on grid "
        "points, plus roundoff); err_riemann: relative to the exact Riemann sum (roundoff "
        "only: ~(n + kappa) eps for overlaps, ~eps / h^2 for the laplacian form, ~eps / h for "
        "the gradient form).",
    ]
    for what, message in data["refused"].items():
        notes.append(f"Not allowed: {what}: {message}")
    notes.append(
        f"Table 2: NumPy samples of both orbitals + mps.tt_svd (tol {p.dense_tol:g}, Frobenius), "
        "first call and median steady call; ratio = its time / sto_1d x2's; ranks_ok: its "
        "ranks = those of the analytic MPS after mps.round (same tol). The analytic MPS has "
        "static bond 3; with the centres on dyadic grid points the TT ranks are (2, 3, 3, 3, 2, "
        "..., 2): rounding finds them."
    )
    if "skipped_dense" in data:
        notes.append(
            f"Table 2 stopped before n = {data['skipped_dense']}: {data['skipped_dense_why']}."
        )
    notes.append(
        f"Table 3: slater.sto_3d (TT-cross, tol {p.cross_tol:g}, centre at the origin, box "
        f"[{p.lower}, {p.upper})^3, sequential bits), n = 3 x qubits per coordinate, one call "
        f"(time_s); chi = chi_max of the normalized state after mps.round(tol={p.round_tol:g}, "
        "criterion='absolute'); tt_svd rows: NumPy samples, normalized, mps.tt_svd with the "
        "same absolute threshold (first call, then one steady call), ratio = tt_svd / tt_cross "
        "time; max_diff between the two normalized states; converged: TT-cross's stopping rule "
        "(a tolerance this close to eps stalls, by design, with converged=False)."
    )
    if "skipped_3d" in data:
        notes.append(
            f"Table 3 stopped before q = {data['skipped_3d']}: a TT-cross call took more than "
            f"{p.cross_seconds:g} s."
        )
    return notes
