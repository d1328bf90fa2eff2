r"""Bolos (2026): bond dimensions of the 3-D 1s and 2s Slater orbitals as quantics MPS.

Reproduces the bond-dimension study of Bolos, "Amplitude Encoding of Slater-Type Orbitals
via Matrix Product States" (2026): the orbital $e^{-\zeta r}$ (1s) or $r e^{-\zeta r}$ (2s),
centred at the origin, sampled on the Cartesian grid $x_j = \ell + j (u - \ell)/2^n$ per
coordinate ($n$ qubits per coordinate, $3n$ in all), sequential x|y|z bit order,
normalized, and truncated by SVD at an absolute threshold on the singular values
(`spectral.mps.round(..., criterion="absolute")`): $\chi_{\max}$ against $n$.

The MPS comes from TT-cross (`spectral.tt_cross`, via `spectral.slater.sto_3d`) at every
$n$, so $n = 12$ ($2^{36}$ points) is reachable; up to `dense_up_to` qubits per coordinate
it is checked against TT-SVD of the dense grid (same threshold: the ranks must agree). A
second table gives $\chi_{\max}$ against the threshold at `sweep_qubits`, with the overlap
error $1 - \langle\psi, \tilde\psi\rangle / \lVert\tilde\psi\rVert$ of the truncated state.

Paper (the author's files, threshold 1e-12, 32 a.u. box, $\zeta = 1$): 1s $\chi_{\max}$ =
29, 44, 67, 87, 104, 115, 123 for 4 to 10 qubits per coordinate, saturating near 138 at
12; 39 at threshold 1e-6 and 12 qubits.
"""

import dataclasses
import time
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from matplotlib.figure import Figure

from spectral import mps as M, slater

from ._progress import Progress, no_progress

PAPER_CHI_1S = {4: 29, 5: 44, 6: 67, 7: 87, 8: 104, 9: 115, 10: 123, 12: 138}
PAPER_CHI_1S_1E6_AT_12 = 39


@dataclasses.dataclass(frozen=True)
class Config:
    r"""Every knob of the bond-dimension study.

    Attributes
    ----------
    seed : int
        Root of the TT-cross keys.
    zeta : float
        $\zeta$.
    lower, upper : float
        The box $[\ell, u)$ per coordinate.
    orbitals : list of str
        Subset of ``1s``, ``2s``.
    qubits : list of int
        Qubits per coordinate.
    threshold : float
        Absolute singular-value threshold on the normalized state.
    dense_up_to : int
        Also TT-SVD of the dense grid up to this many qubits per coordinate.
    sweep_qubits : int
        Qubits per coordinate of the threshold sweep (0 to skip it).
    sweep_thresholds : list of float
        The thresholds of the sweep.
    cross_tol : float
        TT-cross tolerance (relative, max norm); well below `threshold`.
    max_bond : int
        TT-cross's cap on the bonds.
    """

    seed: int
    zeta: float
    lower: float
    upper: float
    orbitals: list[str]
    qubits: list[int]
    threshold: float
    dense_up_to: int
    sweep_qubits: int
    sweep_thresholds: list[float]
    cross_tol: float
    max_bond: int

    def __post_init__(self):
        for name in ("zeta", "threshold", "cross_tol"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0; got {getattr(self, name)}.")
        if not self.lower < 0 < self.upper:
            raise ValueError(
                f"the box must contain the centre 0; got [{self.lower}, {self.upper})."
            )
        if not self.orbitals or not set(self.orbitals) <= set(slater.ORBITALS_3D):
            raise ValueError(f"orbitals must be a non-empty subset of {slater.ORBITALS_3D}.")
        if not self.qubits or min(self.qubits) < 2 or max(self.qubits) > 14:
            raise ValueError(f"qubits must be a non-empty list in 2..14; got {self.qubits}.")
        if self.dense_up_to > 8:
            raise ValueError(
                f"dense_up_to must be at most 8 (2^24 points); got {self.dense_up_to}."
            )


def _cross(cfg: Config, orbital: str, q: int) -> tuple[M.MPS, Any, float]:
    start = time.perf_counter()
    res = slater.sto_3d(
        jax.random.fold_in(jax.random.key(cfg.seed), q),
        orbital,
        cfg.zeta,
        (0.0, 0.0, 0.0),
        qubits_per_coordinate=q,
        lower=cfg.lower,
        upper=cfg.upper,
        tol=cfg.cross_tol,
        max_bond=cfg.max_bond,
    )
    psi = M.scale(res.mps, 1.0 / M.norm(res.mps))
    return psi, res, time.perf_counter() - start


def _dense(cfg: Config, orbital: str, q: int) -> np.ndarray:
    x = cfg.lower + np.arange(2**q) * (cfg.upper - cfg.lower) / 2**q
    X, Y, Z = np.meshgrid(x, x, x, indexing="ij")
    values = np.asarray(slater.sto_3d_function(orbital, cfg.zeta, (0.0, 0.0, 0.0))(X, Y, Z))
    return values / np.linalg.norm(values)


def bond_table(cfg: Config, progress: Progress) -> tuple[list[dict], dict, dict]:
    """chi_max against qubits per coordinate, TT-cross and (small q) dense TT-SVD.

    Also returns the bond profiles and the normalized states by (orbital, qubits).
    """
    rows, profiles, states = [], {}, {}
    settings = [(o, q) for o in cfg.orbitals for q in cfg.qubits]
    for orbital, q in progress(settings, desc="bolos2026 bond dimensions"):
        psi, res, seconds = _cross(cfg, orbital, q)
        states[orbital, q] = psi
        rounded = M.round(psi, tol=cfg.threshold, criterion="absolute")
        ranks = [int(r) for r in rounded.ranks]
        row = {
            "orbital": orbital,
            "qubits": q,
            "chi_max": max(ranks),
            "paper_chi_max": PAPER_CHI_1S.get(q) if orbital == "1s" else None,
            "chi_cross": int(res.ranks.max()),
            "evaluations": int(res.evaluations),
            "cross_error": float(res.error_estimate),
            "cross_s": seconds,
            "dense_chi_max": None,
            "max_abs_diff": None,
        }
        if q <= cfg.dense_up_to:
            x = _dense(cfg, orbital, q)
            dense = M.tt_svd(jnp.asarray(x), tol=cfg.threshold, criterion="absolute")
            row["dense_chi_max"] = int(dense.ranks.max())
            row["max_abs_diff"] = float(np.max(np.abs(np.asarray(M.to_dense(psi)) - x.reshape(-1))))
        rows.append(row)
        profiles[f"{orbital}/{q}"] = ranks
    return rows, profiles, states


def threshold_table(cfg: Config, progress: Progress, states: dict) -> list[dict]:
    """chi_max and the overlap error against the threshold, at `sweep_qubits`."""
    rows = []
    for orbital in progress(cfg.orbitals, desc="bolos2026 threshold sweep"):
        key = (orbital, cfg.sweep_qubits)
        psi = states[key] if key in states else _cross(cfg, orbital, cfg.sweep_qubits)[0]
        for threshold in cfg.sweep_thresholds:
            rounded = M.round(psi, tol=threshold, criterion="absolute").mps
            fidelity = float(M.inner(psi, rounded) / M.norm(rounded))
            rows.append(
                {
                    "orbital": orbital,
                    "qubits": cfg.sweep_qubits,
                    "threshold": threshold,
                    "chi_max": rounded.max_bond,
                    "overlap_error": max(1.0 - fidelity, 0.0),
                }
            )
    return rows


def run(cfg: Config, *, progress: Progress = no_progress) -> dict[str, Any]:
    """chi_max against the qubit count and against the threshold.

    Returns
    -------
    dict
        `table` (the bond table), `figures` (`bond_dimensions`), `data` (bond profiles and
        the threshold sweep) and `notes`.
    """
    table, profiles, states = bond_table(cfg, progress)
    sweep = threshold_table(cfg, progress, states) if cfg.sweep_qubits else []
    return {
        "table": table,
        "figures": {"bond_dimensions": _figure(table, sweep)},
        "data": {"profiles": profiles, "threshold_sweep": sweep},
        "notes": _notes(cfg, table, sweep),
    }


def _notes(cfg: Config, table: list[dict], sweep: list[dict]) -> list[str]:
    notes = [
        f"zeta = {cfg.zeta}, box [{cfg.lower}, {cfg.upper})^3, sequential x|y|z bits, "
        f"normalized state, absolute threshold {cfg.threshold:g}. chi_cross: TT-cross's own "
        "bond before rounding; cross_error: its max relative error at random test points.",
    ]
    ours = {r["qubits"]: r["chi_max"] for r in table if r["orbital"] == "1s"}
    matched = [q for q in ours if PAPER_CHI_1S.get(q) == ours[q]]
    compared = [q for q in ours if q in PAPER_CHI_1S]
    if compared:
        notes.append(
            "1s chi_max, paper vs ours: "
            + ", ".join(f"n={q}: {PAPER_CHI_1S[q]} / {ours[q]}" for q in compared)
            + f" ({len(matched)} of {len(compared)} equal)."
        )
    dense = [r for r in table if r["dense_chi_max"] is not None]
    if dense:
        agree = sum(r["dense_chi_max"] == r["chi_max"] for r in dense)
        notes.append(
            f"TT-cross vs TT-SVD of the dense grid: chi_max equal in {agree} of {len(dense)} "
            f"cases; max |psi_cross - psi_dense| = {max(r['max_abs_diff'] for r in dense):.2e}."
        )
    at_1e6 = [r for r in sweep if r["orbital"] == "1s" and r["threshold"] == 1e-6]
    if at_1e6 and cfg.sweep_qubits == 12:
        notes.append(
            f"1s at threshold 1e-6, 12 qubits per coordinate: paper {PAPER_CHI_1S_1E6_AT_12}, "
            f"ours {at_1e6[0]['chi_max']}."
        )
    return notes


def _figure(table: list[dict], sweep: list[dict]) -> Figure:
    fig = Figure(figsize=(9, 3.6), layout="constrained")
    left, right = fig.subplots(1, 2)
    for i, orbital in enumerate(sorted({r["orbital"] for r in table})):
        rows = [r for r in table if r["orbital"] == orbital]
        left.plot([r["qubits"] for r in rows], [r["chi_max"] for r in rows], "o-",
                  color=f"C{i}", label=f"{orbital} (ours)")  # fmt: skip
    paper = sorted(PAPER_CHI_1S.items())
    left.plot(*zip(*paper, strict=True), "k*", ms=8, label="1s (paper)")
    left.set_xlabel("qubits per coordinate")
    left.set_ylabel(r"$\chi_{\max}$")
    left.legend(fontsize=8)
    twin = right.twinx()
    twin.set_ylabel(r"$\chi_{\max}$ (dashed)")
    for i, orbital in enumerate(sorted({r["orbital"] for r in sweep})):
        rows = [r for r in sweep if r["orbital"] == orbital]
        right.loglog([r["threshold"] for r in rows], [max(r["overlap_error"], 1e-17) for r in rows],
                     "o-", color=f"C{i}", label=f"{orbital}: overlap error")  # fmt: skip
        twin.semilogx([r["threshold"] for r in rows], [r["chi_max"] for r in rows], "s--",
                      color=f"C{i}", alpha=0.6)  # fmt: skip
    right.set_xlabel("absolute threshold")
    right.set_ylabel("1 - overlap")
    if sweep:
        right.legend(fontsize=8)
    return fig
