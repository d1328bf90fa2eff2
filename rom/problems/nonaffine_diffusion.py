r"""Diffusion with a moving Gaussian bump: a nonaffine test problem for the matrix EIM.

$$-\nabla \cdot \bigl(d(x; \mu) \nabla u\bigr) = 1 \ \text{on } (0, 1)^2, \qquad u = 0
\ \text{on the boundary}, \qquad
d(x; \mu) = 1 + \mu_0 \exp\Bigl(-\frac{(x_0 - \mu_1)^2 + (x_1 - \tfrac12)^2}{2 w^2}\Bigr),$$

with $\mu_0 \in [0.1, 10]$ the bump's amplitude, $\mu_1 \in [0.2, 0.8]$ its horizontal
position and $w = 0.1$ its width: the moving-bump coefficient of the empirical
interpolation literature (Barrault, Maday, Nguyen & Patera 2004; Grepl, Maday, Nguyen &
Patera 2007). The stiffness matrix

$$A(\mu)_{ij} = \sum_{T} d(x_T; \mu) \int_T \nabla\varphi_j \cdot \nabla\varphi_i$$

($d$ evaluated at the element centroids $x_T$, so piecewise constant) is **not** affine in
any finite number of terms: the position $\mu_1$ enters through the exponential. The
reduced basis method needs an affine decomposition, which `rom.matrix_eim` builds from
the matrix entries alone (Casenave, Ern, Lelièvre & Sylvand 2013).

Discretization as in `rom.problems.thermal_block`: $P_1$ elements on the crossed
triangulation `unit_square_mesh` ($h = 1/N$; $(N - 1)^2 + N^2$ interior unknowns). The
model gives the matrix two ways, both jittable:

- `assemble(mu)`: all $\text{nnz}$ pattern values, a gather and weighted sum over a fixed
  contribution map (per pattern entry, the padded list of the at most 8 triangles that
  touch it and their local stiffness entries): $O(T)$ conductivity evaluations plus
  $O(8\,\text{nnz})$;
- `entries(mu, rows, cols)`: only the requested entries, each looked up in a padded
  row-wise (CSR) copy of the pattern and summed over its own few triangles: $O(9 + 8)$
  work per entry, independent of the mesh. This is what the matrix EIM evaluates online.

The energy product is $X = A(\bar\mu)$ at a reference parameter $\bar\mu$, and
$\alpha_{LB}(\mu) = \min_T d(x_T; \mu) / d(x_T; \bar\mu)$ bounds the coercivity constant
of the **true** operator in $X$ from below (a Rayleigh quotient of
$\sum_T d_T(\mu) a_T(v, v)$ over $\sum_T d_T(\bar\mu) a_T(v, v)$, term by term).
"""

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jax.experimental import sparse as jsparse
from jaxtyping import Array, Float, Int

from spectral import BandedPattern, banded_cholesky, banded_pattern

from .._parameters import check_parameter
from ..affine import sum_duplicates
from .thermal_block import p1_element_matrices, unit_square_mesh

LOW = (0.1, 0.2)
HIGH = (10.0, 0.8)


class NonaffineDiffusion(eqx.Module):
    r"""$-\nabla\cdot(d(x;\mu)\nabla u) = 1$ with a moving bump, $P_1$ on the unit square.

    Attributes
    ----------
    indices : Int[Array, "nnz 2"]
        The sparsity pattern (row, column), sorted by row then column.
    rhs : Float[Array, " n"]
        The load vector of $f = 1$.
    low, high : Float[Array, " 2"]
        The parameter box, $[0.1, 10] \times [0.2, 0.8]$.
    reference : Float[Array, " 2"]
        $\bar\mu$ of the energy product $X = A(\bar\mu)$ and of `coercivity_lower_bound`.
    mass : Float[Array, " nnz"]
        The $L^2$ mass matrix on the pattern.
    centroids : Float[Array, "T 2"]
        The element centroids, where $d$ is evaluated.
    triangles, weights : Int[Array, "nnz m"], Float[Array, "nnz m"]
        The contribution map: pattern entry $e$ is
        ``sum(weights[e] * d[triangles[e]])`` (padding has weight 0).
    row_columns, row_positions : Int[Array, "n w"]
        The pattern row by row: the columns of row $i$ (padded with $-1$) and their
        positions in `indices`.
    banded : spectral.BandedPattern
        The ordering of the pattern for the sparse direct solves.
    width : float
        $w$, the bump's width.
    """

    indices: Int[Array, "nnz 2"]
    rhs: Float[Array, " n"]
    low: Float[Array, " 2"]
    high: Float[Array, " 2"]
    reference: Float[Array, " 2"]
    mass: Float[Array, " nnz"]
    centroids: Float[Array, "T 2"]
    triangles: Int[Array, "nnz m"]
    weights: Float[Array, "nnz m"]
    row_columns: Int[Array, "n w"]
    row_positions: Int[Array, "n w"]
    banded: BandedPattern
    width: float = eqx.field(static=True, default=0.1)

    @property
    def size(self) -> int:
        """$n$, the number of unknowns."""
        return self.rhs.shape[0]

    def check_parameter(self, mu) -> Array:
        """`mu` as an array, raising (also under jit) if it leaves the parameter box."""
        return check_parameter(mu, self.low, self.high, self.rhs.dtype)

    def coefficient(self, mu, x: Float[Array, "... 2"]) -> Float[Array, "..."]:
        r"""$d(x; \mu)$ at points `x` (no box check)."""
        mu = jnp.asarray(mu, self.rhs.dtype)
        r2 = (x[..., 0] - mu[1]) ** 2 + (x[..., 1] - 0.5) ** 2
        return 1.0 + mu[0] * jnp.exp(-r2 / (2.0 * self.width**2))

    def conductivity(self, mu) -> Float[Array, " T"]:
        r"""$d(x_T; \mu)$ on every element."""
        return self.coefficient(self.check_parameter(mu), self.centroids)

    def assemble(self, mu) -> Float[Array, " nnz"]:
        r"""All pattern values of $A(\mu)$: gather + weighted sum, $O(T + m\,\text{nnz})$."""
        d = self.conductivity(mu)
        return jnp.sum(self.weights * d[self.triangles], axis=1)

    def entries(self, mu, rows, cols) -> Array:
        r"""$A(\mu)[\text{rows}, \text{cols}]$ alone, without assembling $A(\mu)$.

        Each (row, column) is looked up in the row's padded column list; the entry is the
        sum over the few triangles touching it (0 off the pattern). $O(w + m)$ per entry.
        `rows` and `cols` are integer arrays of one shape, with values in $[0, n)$
        (unchecked: out-of-range rows are clamped by the gather).
        """
        rows, cols = jnp.asarray(rows), jnp.asarray(cols)
        if rows.shape != cols.shape:
            raise ValueError(
                f"rows and cols must have the same shape; got {rows.shape} and {cols.shape}."
            )
        for name, value in (("rows", rows), ("cols", cols)):
            if not jnp.issubdtype(value.dtype, jnp.integer):
                raise TypeError(f"{name} must be integer; got dtype {value.dtype}.")
        cols = cols.astype(self.row_columns.dtype)
        mu = self.check_parameter(mu)
        match = self.row_columns[rows] == cols[..., None]  # (..., w)
        slot = jnp.argmax(match, axis=-1)
        position = jnp.take_along_axis(self.row_positions[rows], slot[..., None], axis=-1)
        position = position[..., 0]
        d = self.coefficient(mu, self.centroids[self.triangles[position]])  # (..., m)
        value = jnp.sum(self.weights[position] * d, axis=-1)
        return jnp.where(jnp.any(match, axis=-1), value, jnp.zeros((), value.dtype))

    def operator(self, mu) -> jsparse.BCOO:
        r"""$A(\mu)$ as a BCOO matrix."""
        n = self.size
        return jsparse.BCOO((self.assemble(mu), self.indices), shape=(n, n))

    def solve(self, mu) -> Float[Array, " n"]:
        r"""$u(\mu) = A(\mu)^{-1} f$ by a sparse direct (banded Cholesky) solve."""
        return banded_cholesky(self.banded, self.assemble(mu)).solve(self.rhs)

    def coercivity_lower_bound(self, mu) -> Array:
        r"""$\min_T d(x_T; \mu) / d(x_T; \bar\mu)$, a lower bound for the true operator."""
        return jnp.min(self.conductivity(mu) / self.conductivity(self.reference))


def nonaffine_diffusion(
    h: float = 1.0 / 32,
    *,
    width: float = 0.1,
    reference=(1.0, 0.5),
    dtype=np.float64,
) -> NonaffineDiffusion:
    r"""The moving-bump diffusion problem on interior unknowns.

    Parameters
    ----------
    h : float
        Mesh size; $1/h$ an integer $\ge 2$.
    width : float
        $w > 0$, the bump's width (smaller: a harder, slower-decaying EIM).
    reference : (float, float)
        $\bar\mu$ in the box, for the energy product $X = A(\bar\mu)$.
    dtype : numpy dtype
        Of the arrays.

    Returns
    -------
    NonaffineDiffusion

    Notes
    -----
    Assembly of the fixed maps is vectorized NumPy on the host (offline, once).

    Examples
    --------
    >>> problem = nonaffine_diffusion(1 / 16)
    >>> u = problem.solve(jnp.array([5.0, 0.3]))
    """
    n = round(1.0 / h)
    if abs(n * h - 1.0) > 1e-9 or n < 2:
        raise ValueError(f"1/h must be an integer >= 2; got h={h} (1/h = {1.0 / h:g}).")
    if not width > 0:
        raise ValueError(f"width must be positive; got width={width}.")
    reference = np.asarray(reference, np.float64)
    if reference.shape != (2,) or np.any(reference < LOW) or np.any(reference > HIGH):
        raise ValueError(
            f"reference must be two numbers in the box [{LOW[0]}, {HIGH[0]}] x "
            f"[{LOW[1]}, {HIGH[1]}]; got {reference.tolist()}."
        )
    nodes, triangles = unit_square_mesh(n)
    stiffness, mass, area = p1_element_matrices(nodes, triangles)
    boundary = (np.isclose(nodes[:, 0], 0) | np.isclose(nodes[:, 0], 1)) | (
        np.isclose(nodes[:, 1], 0) | np.isclose(nodes[:, 1], 1)
    )
    dof = np.full(len(nodes), -1)
    dof[~boundary] = np.arange(np.count_nonzero(~boundary))
    size = int(np.count_nonzero(~boundary))
    local = dof[triangles]  # (T, 3)
    rows = np.repeat(local, 3, axis=1).ravel()
    cols = np.tile(local, (1, 3)).ravel()
    element = np.repeat(np.arange(len(triangles)), 9)
    keep = (rows >= 0) & (cols >= 0)
    rows, cols, element = rows[keep], cols[keep], element[keep]
    stiffness, mass = stiffness.reshape(-1)[keep], mass.reshape(-1)[keep]
    indices, summed_mass = sum_duplicates(rows, cols, mass, size)
    # The contribution map: the triangles of each pattern entry (same key order as
    # sum_duplicates), padded with weight 0.
    _, inverse = np.unique(rows.astype(np.int64) * size + cols, return_inverse=True)
    order = np.argsort(inverse, kind="stable")
    counts = np.bincount(inverse, minlength=len(indices))
    rank = np.arange(len(order)) - np.repeat(np.cumsum(counts) - counts, counts)
    m = int(counts.max())
    tri = np.zeros((len(indices), m), np.int32)
    weights = np.zeros((len(indices), m))
    tri[inverse[order], rank] = element[order]
    weights[inverse[order], rank] = stiffness[order]
    # The pattern row by row (indices are sorted by row, then column).
    per_row = np.bincount(indices[:, 0], minlength=size)
    slot = np.arange(len(indices)) - np.repeat(np.cumsum(per_row) - per_row, per_row)
    w = int(per_row.max())
    row_columns = np.full((size, w), -1, np.int32)
    row_positions = np.zeros((size, w), np.int32)
    row_columns[indices[:, 0], slot] = indices[:, 1]
    row_positions[indices[:, 0], slot] = np.arange(len(indices))
    load = np.zeros(size)
    vertex_dofs = local.ravel()
    np.add.at(load, vertex_dofs[vertex_dofs >= 0], np.repeat(area / 3.0, 3)[vertex_dofs >= 0])
    return NonaffineDiffusion(
        indices=jnp.asarray(indices),
        rhs=jnp.asarray(load, dtype),
        low=jnp.asarray(LOW, dtype),
        high=jnp.asarray(HIGH, dtype),
        reference=jnp.asarray(reference, dtype),
        mass=jnp.asarray(summed_mass[0], dtype),
        centroids=jnp.asarray(nodes[triangles].mean(axis=1), dtype),
        triangles=jnp.asarray(tri),
        weights=jnp.asarray(weights, dtype),
        row_columns=jnp.asarray(row_columns),
        row_positions=jnp.asarray(row_positions),
        banded=banded_pattern(indices, size),
        width=float(width),
    )
