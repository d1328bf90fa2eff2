r"""The thermal block: $-\nabla \cdot (d(x, \mu) \nabla u) = 1$ on the unit square, $u = 0$ outside.

pyMOR's classic benchmark. The unit square is cut into $B_x \times B_y$ blocks; on block
$q$ the conductivity is $\mu_q \in [0.1, 1]$, so $A(\mu) = \sum_q \mu_q A_q$ with $A_q$ the
stiffness matrix of the elements in block $q$. Discretization: P1 finite elements on the
structured triangulation of pyMOR's `TriaGrid`: each of the $N \times N$ squares of side
$h = 1/N$ is cut into four triangles through its center, giving $(N + 1)^2 + N^2$ nodes
(20 201 for $h = 1/100$) and $(N - 1)^2 + N^2$ interior unknowns after eliminating the
Dirichlet boundary. The energy product is the $H^1_0$ semi-norm, $X = \sum_q A_q$
($\bar\mu = 1$), and the min-theta coercivity bound is $\min_q \mu_q$.

Assembly is vectorized NumPy (offline); the result is an `rom.AffineModel` with jittable
solves. Block $q = i_x + B_x i_y$ covers $[i_x / B_x, (i_x + 1) / B_x] \times [i_y / B_y,
(i_y + 1) / B_y]$.
"""

import jax.numpy as jnp
import numpy as np

from ..affine import SOLVERS, AffineModel, sum_duplicates


def unit_square_mesh(n: int) -> tuple[np.ndarray, np.ndarray]:
    r"""Nodes ``(p, 2)`` and triangles ``(4 n^2, 3)`` of the crossed triangulation of $(0,1)^2$.

    Vertices first (index $i + (n + 1) j$ for $(i h, j h)$), then square centers.
    """
    h = 1.0 / n
    i, j = np.meshgrid(np.arange(n + 1), np.arange(n + 1), indexing="xy")
    vertices = np.stack([i.ravel() * h, j.ravel() * h], 1)
    ci, cj = np.meshgrid(np.arange(n), np.arange(n), indexing="xy")
    centers = np.stack([(ci.ravel() + 0.5) * h, (cj.ravel() + 0.5) * h], 1)
    nodes = np.concatenate([vertices, centers])
    v00 = ci.ravel() + (n + 1) * cj.ravel()
    v10, v01 = v00 + 1, v00 + n + 1
    v11 = v01 + 1
    c = (n + 1) ** 2 + np.arange(n * n)
    triangles = np.concatenate(
        [
            np.stack([v00, v10, c], 1),
            np.stack([v10, v11, c], 1),
            np.stack([v11, v01, c], 1),
            np.stack([v01, v00, c], 1),
        ]
    )
    return nodes, triangles


def p1_element_matrices(nodes: np.ndarray, triangles: np.ndarray):
    """Per-triangle stiffness ``(t, 3, 3)``, mass ``(t, 3, 3)`` and areas ``(t,)``."""
    p = nodes[triangles]  # (t, 3, 2)
    B = np.stack([p[:, 1] - p[:, 0], p[:, 2] - p[:, 0]], axis=2)  # columns: edges
    det = B[:, 0, 0] * B[:, 1, 1] - B[:, 0, 1] * B[:, 1, 0]
    area = 0.5 * np.abs(det)
    inverse = np.linalg.inv(B)  # (t, 2, 2)
    reference = np.array([[-1.0, -1.0], [1.0, 0.0], [0.0, 1.0]])
    grads = reference @ inverse  # (t, 3, 2): gradients of the barycentric coordinates
    stiffness = area[:, None, None] * grads @ grads.transpose(0, 2, 1)
    mass = area[:, None, None] / 12.0 * (np.ones((3, 3)) + np.eye(3))
    return stiffness, mass, area


def thermal_block(
    blocks: tuple[int, int] = (3, 2),
    h: float = 1.0 / 100,
    *,
    parameter_range: tuple[float, float] = (0.1, 1.0),
    solver: str = "banded",
    dtype=np.float64,
) -> AffineModel:
    r"""The thermal block problem as an `rom.AffineModel` on interior unknowns.

    Parameters
    ----------
    blocks : (int, int)
        $(B_x, B_y)$; $Q = B_x B_y$ parameters.
    h : float
        Mesh size; $1/h$ an integer. An element belongs to the block of its centroid (as in
        pyMOR, block edges need not fall on mesh lines).
    parameter_range : (float, float)
        The box of every $\mu_q$ (pyMOR's default $[0.1, 1]$).
    solver : {"banded", "cg", "dense"}
        How the model solves (see `rom.AffineModel`): by default a sparse direct solve
        after a reverse Cuthill–McKee ordering (bandwidth 201 at $h = 1/100$).
    dtype : numpy dtype
        Of the assembled data.
    """
    bx, by = (int(b) for b in blocks)
    if bx < 1 or by < 1:
        raise ValueError(f"blocks must be two positive ints; got {blocks}.")
    n = round(1.0 / h)
    if abs(n * h - 1.0) > 1e-9 or n < 2:
        raise ValueError(f"1/h must be an integer >= 2; got h={h} (1/h = {1.0 / h:g}).")
    low, high = parameter_range
    if solver not in SOLVERS:
        raise ValueError(f"solver must be one of {SOLVERS}; got solver={solver!r}.")
    if not 0 < low <= high:
        raise ValueError(f"parameter_range must satisfy 0 < low <= high; got {parameter_range}.")
    nodes, triangles = unit_square_mesh(n)
    stiffness, mass, area = p1_element_matrices(nodes, triangles)
    centroid = nodes[triangles].mean(axis=1)
    block = np.minimum((centroid[:, 0] * bx).astype(int), bx - 1) + bx * np.minimum(
        (centroid[:, 1] * by).astype(int), by - 1
    )
    boundary = (np.isclose(nodes[:, 0], 0) | np.isclose(nodes[:, 0], 1)) | (
        np.isclose(nodes[:, 1], 0) | np.isclose(nodes[:, 1], 1)
    )
    dof = np.full(len(nodes), -1)
    dof[~boundary] = np.arange(np.count_nonzero(~boundary))
    size = int(np.count_nonzero(~boundary))
    local = dof[triangles]  # (t, 3)
    rows = np.repeat(local, 3, axis=1).ravel()
    cols = np.tile(local, (1, 3)).ravel()
    keep = (rows >= 0) & (cols >= 0)
    Q = bx * by
    values = np.zeros((Q + 1, rows.size))
    element = np.repeat(np.arange(len(triangles)), 9)
    values[block[element], np.arange(rows.size)] = stiffness.reshape(-1)
    values[Q] = mass.reshape(-1)
    indices, summed = sum_duplicates(rows[keep], cols[keep], values[:, keep], size)
    load = np.zeros(size)
    vertex_dofs = local.ravel()
    np.add.at(load, vertex_dofs[vertex_dofs >= 0], np.repeat(area / 3.0, 3)[vertex_dofs >= 0])
    return AffineModel(
        indices=jnp.asarray(indices),
        data=jnp.asarray(summed[:Q], dtype),
        rhs=jnp.asarray(load, dtype),
        reference=jnp.ones(Q, dtype),
        low=jnp.full(Q, low, dtype),
        high=jnp.full(Q, high, dtype),
        mass=jnp.asarray(summed[Q], dtype),
    ).with_solver(solver)
