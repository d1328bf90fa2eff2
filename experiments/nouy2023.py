r"""Nouy & Michel (2023): weighted least squares with i.i.d., DPP and volume-rescaled designs.

Reproduces the comparison of Nouy & Michel, "Weighted least-squares approximation with
determinantal point processes and generalized volume sampling" (2023), on Legendre
polynomials: the space $V_m$ of polynomials of degree $< m$ on $[-1, 1]$ with the uniform
measure, orthonormal basis $\sqrt{2i + 1} P_i$ (`spectral.LegendreFeatures(m)`), and the
designs of `spectral.sample_design`:

- ``uniform``: i.i.d. uniform points, weights 1;
- ``optimal``: i.i.d. from $k_m / m$, weights $m / k_m$;
- ``dpp``: the projection DPP, $n = m$ points;
- ``volume_rescaled``: a projection DPP of $m$ points plus $n - m$ i.i.d. optimal points;
- ``dpp_repetitions``: $n / m$ independent projection DPPs ($n$ a multiple of $m$).

For each $m$, design and sample size $n \in \{\lceil r m\rceil : r \in$ `ratios`$\} \cup
\{\lceil m \log m\rceil\}$ (where the design admits it), `trials` independent designs give

- the probability of stability $P(\lVert G - I\rVert_2 \le 1/2)$, $G$ the empirical Gram
  matrix returned by `spectral.weighted_least_squares`;
- the median and 90% quantile of the error ratio $\lVert f - \hat f\rVert / \lVert f - P_m
  f\rVert$ in $L^2(\mu)$ for $f \in \{1/(1 + 25x^2), |x|, e^x\}$.

The ratio is computed without cancellation: least squares reproduces $V_m$, so $\hat f -
P_m f$ is the fit of the residual $r = f - P_m f$, orthogonal to $V_m$, and
$\lVert f - \hat f\rVert^2 = \lVert r\rVert^2 + \lVert \hat c_r\rVert^2$ with $\hat c_r$ the
fitted coefficients of $r$ at the design. The reference projection $P_m f$ uses
Gauss–Legendre quadrature (composite, split at 0 for $|x|$; 200 nodes per half) for the
Runge function and $|x|$; for $e^x$ the best error falls below float64 resolution for
$m \ge 15$ (about $10^{-13}$ at $m = 14$), so its Legendre coefficients come in closed form,
$\langle e^x, \sqrt{2i+1} P_i\rangle_\mu = \sqrt{(2i + 1)\pi / 2}\; I_{i + 1/2}(1)$ (a
positive series), and $r = \sum_{i = m}^{m + 29} c_i \varphi_i$ is summed from its tail.
"""

import dataclasses
import math
from typing import Any

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from matplotlib.figure import Figure

import spectral

from ._config import require_positive
from ._progress import Progress, no_progress

FUNCTIONS = ("runge", "abs", "exp")
DESIGNS = spectral.least_squares.DESIGNS
EXP_TAIL = 30  # tail terms of e^x: c_(m+30) / c_m < 1e-40
QUADRATURE_NODES = 200  # per half of [-1, 1]
STABLE = 0.5  # ||G - I||_2 <= 1/2
MEMORY_PER_CHUNK = 2e8  # bytes of rejection proposals per chunk of trials


@dataclasses.dataclass(frozen=True)
class Config:
    r"""Every knob of the Nouy-Michel weighted least-squares experiment.

    Attributes
    ----------
    seed : int
        Root of all PRNG keys (one stream per $(m, \text{design}, n)$).
    dims : list of int
        The dimensions $m$ of $V_m$ (polynomial degree $< m$).
    ratios : list of float
        Sample sizes $n = \lceil r m\rceil$; $n = \lceil m \log m\rceil$ is added.
    designs : list of str
        Which of ``uniform``, ``optimal``, ``dpp``, ``volume_rescaled``,
        ``dpp_repetitions`` to run.
    trials : int
        Independent designs per setting.
    """

    seed: int
    dims: list[int]
    ratios: list[float]
    designs: list[str]
    trials: int

    def __post_init__(self):
        require_positive(self, "trials")
        if not self.dims or min(self.dims) < 2:
            raise ValueError(f"dims must be a non-empty list of integers >= 2; got {self.dims}.")
        if not self.ratios or min(self.ratios) < 1:
            raise ValueError(f"ratios must be a non-empty list of numbers >= 1; got {self.ratios}.")
        unknown = sorted(set(self.designs) - set(DESIGNS))
        if not self.designs or unknown:
            raise ValueError(
                f"designs must be a non-empty subset of {DESIGNS}; got {self.designs}."
            )


def sample_sizes(m: int, ratios: list[float], design: str) -> list[int]:
    """The sample sizes of the sweep that `design` admits, ascending."""
    sizes = {math.ceil(r * m - 1e-9) for r in ratios} | {math.ceil(m * math.log(m))}
    if design == "dpp":
        return [m] if m in sizes else []
    if design == "dpp_repetitions":
        return sorted(n for n in sizes if n % m == 0)
    return sorted(sizes)


def _legendre(x: np.ndarray, degree_count: int) -> np.ndarray:
    """sqrt(2i+1) P_i(x) for i < degree_count, NumPy (the reference side)."""
    V = np.polynomial.legendre.legvander(x, degree_count - 1)
    return V * np.sqrt(2 * np.arange(degree_count) + 1)


def exp_legendre_coefficients(count: int) -> np.ndarray:
    r"""$c_i = \langle e^x, \sqrt{2i+1} P_i\rangle_{dx/2} = \sqrt{(2i+1)\pi/2}\, I_{i+1/2}(1)$.

    $I_\nu(1) = \sum_k 2^{-(2k + \nu)} / (k!\, \Gamma(k + \nu + 1))$, summed in log space
    (terms decrease fast; 40 are far more than float64 needs).
    """
    c = np.empty(count)
    for i in range(count):
        nu = i + 0.5
        terms = [
            math.exp(-(2 * k + nu) * math.log(2) - math.lgamma(k + 1) - math.lgamma(k + nu + 1))
            for k in range(40)
        ]
        c[i] = math.sqrt((2 * i + 1) * math.pi / 2) * math.fsum(terms)
    return c


class Residual:
    r"""$r = f - P_m f$ at any points, and $\lVert r\rVert_{L^2(\mu)}$, for one $f$ and $m$."""

    def __init__(self, name: str, m: int):
        self.name, self.m = name, m
        if name == "exp":
            self.tail = exp_legendre_coefficients(m + EXP_TAIL)[m:]
            self.norm = float(np.sqrt(np.sum(self.tail**2)))
            return
        nodes, weights = np.polynomial.legendre.leggauss(QUADRATURE_NODES)
        x = np.concatenate([(nodes - 1) / 2, (nodes + 1) / 2])  # [-1, 0] and [0, 1]
        w = np.concatenate([weights, weights]) / 4  # dx / 2 on each half of length 1
        self.coefficients = _legendre(x, m).T @ (w * self.f(x))
        self.norm = float(np.sqrt(np.sum(w * self(x) ** 2)))

    def f(self, x: np.ndarray) -> np.ndarray:
        """The function itself."""
        return {"runge": lambda: 1 / (1 + 25 * x**2), "abs": lambda: np.abs(x)}[self.name]()

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """$r(x)$."""
        if self.name == "exp":
            return _legendre(x, self.m + EXP_TAIL)[..., self.m :] @ self.tail
        return self.f(x) - _legendre(x, self.m) @ self.coefficients


def _chunk(m: int, n: int, design: str, trials: int) -> int:
    """Trials per vectorized chunk, so that one rejection round stays near 200 MB."""
    proposals = 2 * spectral.LegendreFeatures(m).envelope_mass  # per rejection round, ~
    parallel = n // m if design == "dpp_repetitions" else 1
    per_trial = 8 * proposals * m * parallel
    return max(1, min(trials, int(MEMORY_PER_CHUNK // per_trial)))


def _designs(keys: jax.Array, m: int, n: int, design: str) -> spectral.Design:
    features = spectral.LegendreFeatures(m)
    chunk = _chunk(m, n, design, keys.shape[0])
    one = jax.jit(lambda key: spectral.sample_design(key, features, n, method=design))
    return jax.lax.map(one, keys, batch_size=chunk)


def evaluate(cfg: Config, m: int, design: str, n: int, key: jax.Array) -> dict[str, Any]:
    """Stability and error ratios of `cfg.trials` designs of one setting."""
    keys = jr.split(key, cfg.trials)
    designs = _designs(keys, m, n, design)
    points = np.asarray(designs.points, np.float64)
    residuals = [Residual(name, m) for name in FUNCTIONS]
    values = np.stack([r(points) for r in residuals], -1)  # (trials, n, 3)
    features = spectral.LegendreFeatures(m)

    def fit(args):
        x, y, w = args
        return spectral.weighted_least_squares(features, x, y, w)

    fits = jax.lax.map(fit, (designs.points, jnp.asarray(values), designs.weights))
    gram = np.asarray(fits.gram)
    deviation = np.linalg.norm(gram - np.eye(m), ord=2, axis=(1, 2))
    coefficients = np.asarray(fits.coefficients)  # (trials, m, 3)
    norms = np.array([r.norm for r in residuals])
    ratio = np.sqrt(1 + np.sum(coefficients**2, axis=1) / norms**2)  # (trials, 3)
    return {"deviation": deviation, "ratio": ratio, "best": norms}


def run(cfg: Config, *, progress: Progress = no_progress) -> dict[str, Any]:
    r"""Stability probability and error-ratio quantiles against n / m, per design and m.

    Returns
    -------
    dict
        `table` (one row per $(m, \text{design}, n)$), `figures` (`stability`), `data`
        (per-trial $\lVert G - I\rVert_2$ and ratios) and `notes`.
    """
    root = jr.key(cfg.seed)
    settings = [
        (m, design, n)
        for m in cfg.dims
        for design in cfg.designs
        for n in sample_sizes(m, cfg.ratios, design)
    ]
    table, data = [], {}
    for index, (m, design, n) in enumerate(progress(settings, desc="nouy2023 settings")):
        result = evaluate(cfg, m, design, n, jr.fold_in(root, index))
        row: dict[str, Any] = {
            "m": m,
            "design": design,
            "n": n,
            "n_over_m": n / m,
            "p_stable": float(np.mean(result["deviation"] <= STABLE)),
            "median_dev": float(np.median(result["deviation"])),
        }
        for j, name in enumerate(FUNCTIONS):
            row[f"{name}_median"] = float(np.median(result["ratio"][:, j]))
            row[f"{name}_q90"] = float(np.quantile(result["ratio"][:, j], 0.9))
        table.append(row)
        data[f"{m}/{design}/{n}"] = {
            "deviation": result["deviation"],
            "ratio": result["ratio"],
            "best_error": result["best"],
        }
    return {
        "table": table,
        "figures": {"stability": _figure(cfg, table)},
        "data": data,
        "notes": _notes(cfg, table),
    }


def first_stable_ratio(table: list[dict], m: int, design: str, level: float = 0.9) -> float | None:
    """The smallest n / m of the sweep with P(stable) >= level, or None."""
    rows = [r for r in table if r["m"] == m and r["design"] == design and r["p_stable"] >= level]
    return min((r["n_over_m"] for r in rows), default=None)


def first_quasi_optimal_ratio(
    table: list[dict], m: int, design: str, factor: float = 2.0
) -> float | None:
    """The smallest n / m of the sweep whose 90% error-ratio quantile is <= factor for every f."""
    rows = [
        r
        for r in table
        if r["m"] == m
        and r["design"] == design
        and max(r[f"{name}_q90"] for name in FUNCTIONS) <= factor
    ]
    return min((r["n_over_m"] for r in rows), default=None)


def _describe(found: dict[str, float | None]) -> str:
    return ", ".join(f"{d} {'not reached' if r is None else f'{r:.3g}'}" for d, r in found.items())


def _notes(cfg: Config, table: list[dict]) -> list[str]:
    notes = [
        f"Legendre V_m on [-1, 1], m in {cfg.dims}; {cfg.trials} designs per setting; "
        "p_stable = P(||G - I||_2 <= 1/2); median_dev = median ||G - I||_2; "
        "<f>_median, <f>_q90: median and 90% quantile of ||f - f_hat|| / ||f - P_m f|| (L2, "
        "uniform measure) for f = 1/(1+25x^2) (runge), |x| (abs), exp(x).",
        "Paper (Nouy & Michel 2023, and the issue's reading of it): DPP-based designs reach "
        "stability at n close to m, where i.i.d. optimal sampling needs about m log m.",
    ]
    for m in cfg.dims:
        stable = _describe({d: first_stable_ratio(table, m, d) for d in cfg.designs})
        quasi = _describe({d: first_quasi_optimal_ratio(table, m, d) for d in cfg.designs})
        notes.append(
            f"m = {m} (log m = {math.log(m):.2f}): smallest n/m with P(stable) >= 0.9: "
            f"{stable}; with the 90% quantile of error / best error <= 2 for all three "
            f"functions: {quasi}."
        )
    return notes


def _figure(cfg: Config, table: list[dict]) -> Figure:
    fig = Figure(figsize=(3.2 * len(cfg.dims) + 1, 6.4), layout="constrained")
    axes = fig.subplots(2, len(cfg.dims), squeeze=False)
    for col, m in enumerate(cfg.dims):
        top, bottom = axes[0, col], axes[1, col]
        for i, design in enumerate(cfg.designs):
            rows = [r for r in table if r["m"] == m and r["design"] == design]
            if not rows:
                continue
            x = [r["n_over_m"] for r in rows]
            style = {"color": f"C{i}", "marker": "o", "ms": 4, "lw": 1, "label": design}
            top.plot(x, [r["p_stable"] for r in rows], **style)
            bottom.plot(x, [r["runge_median"] for r in rows], **style)
            bottom.plot(x, [r["runge_q90"] for r in rows], color=f"C{i}", ls=":", lw=1)
        for ax in (top, bottom):
            ax.set_xscale("log")
            ax.axvline(math.log(m), color="0.5", ls="--", lw=0.8)
        top.set_title(f"m = {m} (dashed: n/m = log m)")
        top.set_ylim(-0.03, 1.03)
        bottom.set_yscale("log")
        bottom.set_xlabel("n / m")
    axes[0, 0].set_ylabel(r"$P(\|G - I\|_2 \leq 1/2)$")
    axes[1, 0].set_ylabel("Runge: error / best error\n(median; dotted: 90% quantile)")
    axes[0, 0].legend(fontsize=7)
    fig.suptitle("Nouy & Michel (2023): weighted least squares on Legendre polynomials")
    return fig
