r"""Activation-aware CUR compression of the linear layers of a neural network.

A linear layer $y = Wx + b$ with $W \in \mathbb R^{m \times n}$ ($m$ outputs, $n$ inputs)
is replaced by $y = C(U(Rx)) + b$ with $C = W[:, J]$, $R = W[I, :]$ ($|I| = |J| = r$) and the
core $U = C^+ W R^+$: actual rows and columns of the trained weights, which keeps their
meaning, and $mr + r^2 + rn$ parameters instead of $mn$.

CURing (Park & Moon 2025) chooses $I$ and $J$ by DEIM (`spectral.deim_indices`) on the
top-$r$ singular vectors, not of $W$, but of the *activation-aware score*

$$S = |W| \odot \mathbf 1\, \nu^\top, \qquad S_{ij} = |W_{ij}|\, \lVert X_{:, j}\rVert_2,$$

with $X \in \mathbb R^{b \times n}$ the layer's inputs on $b$ calibration samples: the
importance measure of WANDA (Sun, Liu, Bair & Kolter 2024), which weighs each weight by how
strongly its input is actually driven. The rank is capped at the *break-even rank*, the
largest $r$ with $mr + r^2 + rn \le mn$,

$$r^* = \Bigl\lfloor \tfrac12\bigl(\sqrt{m^2 + 6mn + n^2} - (m + n)\bigr) \Bigr\rfloor,$$

beyond which CUR stores more than $W$ ($r^* \approx 0.41\,n$ for a square layer).

`layer_cur` computes the CUR of one weight matrix by this selection (``"activation"``) or
by DEIM on $W$ itself (``"weight"``, Sorensen & Embree 2016), leverage-score sampling
(``"leverage"``) or uniform sampling (``"uniform"``); `compress_linear_layers` replaces
chosen `equinox.nn.Linear` layers of a model by `CURLinear` layers, collecting each layer's
calibration inputs by running the model, and reports the parameters saved and the output
error on the calibration data.

References
----------
Park & Moon (2025), "CURing Large Models: Compression via CUR Decomposition",
arXiv:2501.04211. [park2025] Sun, Liu, Bair & Kolter (2024), "A Simple and Effective
Pruning Approach for Large Language Models" (WANDA), ICLR, arXiv:2306.11695. Sorensen &
Embree (2016), "A DEIM Induced CUR Factorization", SIAM J. Sci. Comput. [sorensen2016]
"""

import math
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import jax.tree_util as jtu
from jaxtyping import Array, Float, PRNGKeyArray, PyTree

from ._checks import check_choice, check_int, public_jit
from .selection import CURResult, _select, _top_svd, deim_indices

SELECTIONS = ("activation", "weight", "leverage", "uniform")


# --- scores and ranks ---------------------------------------------------------------------


def _check_weight(W: Any, name: str = "W") -> Array:
    W = jnp.asarray(W)
    if W.ndim != 2:
        raise ValueError(
            f"{name} must be a 2-D weight matrix of shape (out_features, in_features); got "
            f"shape {W.shape}."
        )
    if not jnp.issubdtype(W.dtype, jnp.floating):
        raise TypeError(f"{name} must be floating point; got dtype {W.dtype}.")
    return W


def _check_inputs(X: Any, W: Array, name: str = "X") -> Array:
    X = jnp.asarray(X)
    if X.ndim != 2 or X.shape[1] != W.shape[1] or X.shape[0] < 1:
        raise ValueError(
            f"{name} must hold the layer's inputs, one per row, shape (batch, in_features) = "
            f"(batch, {W.shape[1]}) with batch >= 1 for W of shape {W.shape}; got shape "
            f"{X.shape}."
        )
    if X.dtype != W.dtype:
        raise TypeError(f"{name} must have the dtype of W, {W.dtype}; got dtype {X.dtype}.")
    return X


@public_jit
def activation_scores(W: Float[Array, "m n"], X: Float[Array, "b n"], /) -> Float[Array, "m n"]:
    r"""The activation-aware score $S_{ij} = |W_{ij}|\, \lVert X_{:, j}\rVert_2$ of a linear layer.

    For a linear layer $y = Wx$ with weight $W \in \mathbb R^{m \times n}$ (the layout of
    `equinox.nn.Linear.weight`: out $\times$ in) and inputs $X \in \mathbb R^{b \times n}$
    (one sample per row), $S_{ij} = |W_{ij}|\,\lVert X_{:, j}\rVert_2$: each weight times the
    norm over the batch of the input it multiplies. This is WANDA's importance measure (Sun
    et al. 2024), on whose singular vectors CURing (Park & Moon 2025) selects rows and
    columns by DEIM. Cost $O(bn + mn)$ flops.

    Parameters
    ----------
    W : Float[Array, "m n"]
        The weight matrix.
    X : Float[Array, "b n"]
        The layer's inputs on $b$ calibration samples, in the dtype of `W`.

    Returns
    -------
    Float[Array, "m n"]
        $S$, nonnegative.

    Raises
    ------
    ValueError
        If `W` is not 2-D or `X` is not of shape (batch, n).
    TypeError
        If `W` is not floating point or `X` has another dtype.

    References
    ----------
    Park & Moon (2025), "CURing Large Models: Compression via CUR Decomposition",
    arXiv:2501.04211. [park2025]

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> import spectral
    >>> W = jnp.array([[1.0, -2.0], [3.0, 0.5]])
    >>> X = jnp.array([[3.0, 0.0], [4.0, 1.0]])  # column norms 5 and 1
    >>> spectral.activation_scores(W, X)
    Array([[ 5. ,  2. ],
           [15. ,  0.5]], dtype=float32)
    """
    W = _check_weight(W)
    X = _check_inputs(X, W)
    return jnp.abs(W) * jnp.linalg.norm(X, axis=0)[None, :]


def cur_break_even_rank(m: int, n: int) -> int:
    r"""The largest rank $r$ at which a CUR of an $m \times n$ matrix stores at most $mn$ numbers.

    A CUR decomposition of rank $r$ stores $C$ ($m \times r$), $U$ ($r \times r$) and $R$
    ($r \times n$): $mr + r^2 + rn$ numbers, at most $mn$ exactly when $r^2 + (m + n) r -
    mn \le 0$, i.e.

    $$r \le r^* = \Bigl\lfloor \tfrac12\bigl(\sqrt{m^2 + 6mn + n^2} - (m + n)\bigr)\Bigr\rfloor,$$

    computed in exact integer arithmetic. Always $r^* < \min(m, n)$; $r^* = 0$ means no CUR
    saves parameters (e.g. $m = n = 1$).

    Parameters
    ----------
    m, n : int
        The shape, both at least 1.

    Returns
    -------
    int
        $r^*$.

    Raises
    ------
    TypeError, ValueError
        If `m` or `n` is not an int at least 1.

    References
    ----------
    Park & Moon (2025), "CURing Large Models: Compression via CUR Decomposition",
    arXiv:2501.04211. [park2025]

    Examples
    --------
    >>> import spectral
    >>> spectral.cur_break_even_rank(4096, 4096), spectral.cur_break_even_rank(128, 64)
    (1696, 35)
    """
    m = check_int(m, "m", low=1)
    n = check_int(n, "n", low=1)
    # floor((floor(sqrt(D)) - a) / 2) = floor((sqrt(D) - a) / 2) for an integer a.
    return (math.isqrt(m * m + 6 * m * n + n * n) - (m + n)) // 2


# --- the CUR of one layer -----------------------------------------------------------------


@public_jit
def layer_cur(
    key: PRNGKeyArray,
    W: Float[Array, "m n"],
    X: Float[Array, "b n"] | None,
    rank: int,
    /,
    *,
    selection: str = "activation",
) -> CURResult:
    r"""CUR $W \approx CUR$ of a layer's weight, rows and columns selected with its inputs.

    $C = W[:, J]$, $R = W[I, :]$ with $|I| = |J| = r$ and $U = C^+ W R^+$ (the best core for
    the chosen $C$ and $R$ in the Frobenius norm). The index sets:

    - ``"activation"`` (CURing, Park & Moon 2025): $I$ and $J$ are the DEIM indices
      (`spectral.deim_indices`) of the top-$r$ left and right singular vectors of the
      activation-aware score $S = |W| \odot \mathbf 1\,\nu^\top$, $\nu_j = \lVert
      X_{:, j}\rVert_2$ (`spectral.activation_scores`);
    - ``"weight"``: DEIM on the top-$r$ singular vectors of $W$ (DEIM-CUR, Sorensen & Embree
      2016; `X` is not used);
    - ``"leverage"``: $r$ rows and $r$ columns sampled without replacement with
      probabilities proportional to the rank-$r$ leverage scores of $W$ (Mahoney & Drineas
      2009; `X` is not used);
    - ``"uniform"``: $r$ rows and $r$ columns sampled uniformly without replacement (no SVD;
      `X` is not used).

    This is the decomposition only; `compress_linear_layers` caps the rank at
    `cur_break_even_rank`.

    Parameters
    ----------
    key : PRNGKeyArray
        Draws the sampled indices (``"leverage"``, ``"uniform"``); unused by DEIM.
    W : Float[Array, "m n"]
        The weight (out $\times$ in, as `equinox.nn.Linear.weight`).
    X : Float[Array, "b n"] or None
        The layer's inputs on calibration samples, one per row, in the dtype of `W`;
        required for ``"activation"``, ignored (may be `None`) otherwise.
    rank : int
        $r$, static, $1 \le r \le \min(m, n)$.
    selection : {"activation", "weight", "leverage", "uniform"}
        How the rows and columns are chosen.

    Returns
    -------
    CURResult
        `C` (m, r), `U` (r, r), `R` (r, n), `cols` and `rows` (the indices, in the order
        selected).

    Raises
    ------
    ValueError
        For a `W` that is not 2-D, a `rank` outside $[1, \min(m, n)]$, an unknown
        `selection`, or an `X` that is missing (``"activation"``) or not of shape (b, n).
    TypeError
        For a non-floating `W`, an `X` of another dtype, or a `rank` that is not an int.

    Notes
    -----
    Cost: the SVD of $S$ or $W$, $O(mn\min(m, n))$ (none for ``"uniform"``); DEIM $O((m +
    n) r^2)$; the core $O(mnr + (m + n) r^2)$; the score $O(bn + mn)$. Memory $O(mn)$.

    References
    ----------
    Park & Moon (2025), "CURing Large Models: Compression via CUR Decomposition",
    arXiv:2501.04211. [park2025] Sorensen & Embree (2016), "A DEIM Induced CUR
    Factorization", SIAM J. Sci. Comput. [sorensen2016] Mahoney & Drineas (2009), "CUR
    matrix decompositions for improved data analysis", PNAS. [mahoney2009]

    Examples
    --------
    >>> import jax, jax.numpy as jnp
    >>> import spectral
    >>> kw, kx = jax.random.split(jax.random.key(0))
    >>> W = jax.random.normal(kw, (6, 2)) @ jax.random.normal(kw, (2, 5))  # rank 2
    >>> X = jax.random.normal(kx, (32, 5))
    >>> C, U, R, cols, rows = spectral.layer_cur(jax.random.key(1), W, X, 2)
    >>> bool(jnp.allclose(C @ U @ R, W, atol=1e-4))
    True
    """
    selection = check_choice(selection, "selection", SELECTIONS)
    W = _check_weight(W)
    m, n = W.shape
    rank = check_int(rank, "rank", low=1, high=min(m, n))
    if selection == "activation":
        if X is None:
            raise ValueError(
                "X (the layer's calibration inputs, shape (batch, in_features)) is required "
                "for selection='activation'; got None."
            )
        basis_of = activation_scores(W, X)
    else:
        basis_of = W
    k_cols, k_rows = jr.split(key)
    if selection == "uniform":
        cols = jr.choice(k_cols, n, (rank,), replace=False)
        rows = jr.choice(k_rows, m, (rank,), replace=False)
    else:
        svd = _top_svd(basis_of, rank, None, 0, 0)
        if selection == "leverage":
            cols = _select(k_cols, svd.Vh.T, "leverage", rank)
            rows = _select(k_rows, svd.U, "leverage", rank)
        else:
            cols = deim_indices(svd.Vh.T)
            rows = deim_indices(svd.U)
    C, R = W[:, cols], W[rows, :]
    U = jnp.linalg.pinv(C) @ W @ jnp.linalg.pinv(R)
    return CURResult(C, U, R, cols, rows)


# --- the compressed layer -----------------------------------------------------------------


class CURLinear(eqx.Module):
    r"""A linear layer stored as a CUR decomposition: $x \mapsto C(U(Rx)) + b$.

    The drop-in replacement `compress_linear_layers` puts in place of an
    `equinox.nn.Linear`: it is called like one, on a single sample $x$ of shape
    (in_features,), and costs $(m + n + r)\,r$ multiply-adds and as many stored numbers
    (plus the bias) instead of $mn$.

    Attributes
    ----------
    C : Float[Array, "m r"]
        Selected columns of the original weight.
    U : Float[Array, "r r"]
        The core.
    R : Float[Array, "r n"]
        Selected rows of the original weight.
    bias : Float[Array, " m"] or None
        The original bias, unchanged.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> import spectral
    >>> layer = spectral.CURLinear(jnp.ones((3, 1)), jnp.ones((1, 1)), jnp.ones((1, 2)), None)
    >>> layer(jnp.array([1.0, 2.0])), layer.in_features, layer.out_features, layer.rank
    (Array([3., 3., 3.], dtype=float32), 2, 3, 1)
    """

    C: Float[Array, "m r"]
    U: Float[Array, "r r"]
    R: Float[Array, "r n"]
    bias: Float[Array, " m"] | None

    @property
    def in_features(self) -> int:
        """$n$, the size of an input sample."""
        return self.R.shape[1]

    @property
    def out_features(self) -> int:
        """$m$, the size of an output."""
        return self.C.shape[0]

    @property
    def rank(self) -> int:
        """$r$, the number of selected rows and columns."""
        return self.U.shape[0]

    def __call__(self, x: Float[Array, " n"], *, key: PRNGKeyArray | None = None) -> Array:
        """$C(U(Rx)) + b$ for one sample `x` of shape (in_features,); `key` is unused."""
        y = self.C @ (self.U @ (self.R @ x))
        return y if self.bias is None else y + self.bias


# --- compressing a model ------------------------------------------------------------------


class CURCompressionReport(NamedTuple):
    r"""What `compress_linear_layers` did, and how close the compressed model is.

    Attributes
    ----------
    num_params_before : int
        Floating-point array entries of the model before compression.
    num_params_after : int
        The same after compression.
    num_params_saved : int
        `num_params_before - num_params_after`.
    output_error : Float[Array, ""]
        $\lVert f(X) - \hat f(X)\rVert_F / \lVert f(X)\rVert_F$ over the calibration samples
        $X$, for the original model $f$ and the compressed model $\hat f$ (all output
        leaves together).
    ranks : tuple of int
        The rank of each compressed layer, after the cap at the break-even rank.
    layer_errors : Float[Array, " k"]
        Per layer, $\lVert X_\ell W^\top - X_\ell (CUR)^\top\rVert_F / \lVert X_\ell
        W^\top\rVert_F$ on the layer's own calibration inputs $X_\ell$ (bias left out).
    """

    num_params_before: int
    num_params_after: int
    num_params_saved: int
    output_error: Float[Array, ""]
    ranks: tuple[int, ...]
    layer_errors: Float[Array, " k"]


def _is_linear(x: Any) -> bool:
    return isinstance(x, eqx.nn.Linear)


def _all_linear_layers(model: PyTree) -> tuple[eqx.nn.Linear, ...]:
    return tuple(x for x in jtu.tree_leaves(model, is_leaf=_is_linear) if _is_linear(x))


def _as_tuple(where: Callable) -> Callable:
    """`where`, returning a tuple of nodes also where it returns a single layer."""

    def where_tuple(model):
        nodes = where(model)
        return (nodes,) if _is_linear(nodes) else tuple(nodes)

    return where_tuple


def _default_call(model: Callable, x: Any) -> Any:
    return model(x)


def _num_params(model: PyTree) -> int:
    return sum(x.size for x in jtu.tree_leaves(eqx.filter(model, eqx.is_inexact_array)))


class _Tap(eqx.Module):
    """Stands in for a layer while calibrating: records its input, then calls it."""

    layer: eqx.nn.Linear
    record: Callable[[Array], None] = eqx.field(static=True)

    def __call__(self, x: Array, *, key: PRNGKeyArray | None = None) -> Array:
        self.record(x)
        return self.layer(x, key=key)


def _describe(x: Any) -> str:
    if isinstance(x, jax.Array):
        return f"an array of shape {x.shape}"
    return f"a {type(x).__name__}"


def _chosen_layers(model: PyTree, where: Callable) -> tuple[eqx.nn.Linear, ...]:
    layers = where(model)
    if _is_linear(layers):
        layers = (layers,)
    if not isinstance(layers, Sequence) or not layers:
        raise ValueError(
            "where must return the equinox.nn.Linear layers to compress (one layer or a "
            f"non-empty sequence of them); got {type(layers).__name__} {layers!r:.80}."
        )
    for i, layer in enumerate(layers):
        if not _is_linear(layer):
            raise TypeError(
                f"where must select equinox.nn.Linear layers; element {i} of what it returned "
                f"is {_describe(layer)}."
            )
        if layer.in_features == "scalar" or layer.out_features == "scalar":
            raise ValueError(
                f"layer {i} chosen by where has in_features={layer.in_features!r}, "
                f"out_features={layer.out_features!r}; only layers with integer feature sizes "
                "(a 2-D weight acting on vectors) can be CUR-compressed."
            )
        if jnp.ndim(layer.weight) != 2:
            raise ValueError(
                f"layer {i} chosen by where must have a 2-D weight (out_features, in_features); "
                f"got shape {jnp.shape(layer.weight)} (a stacked layer, as in "
                "equinox.nn.MLP(..., scan=True)? build the model with scan=False)."
            )
    return tuple(layers)


def _ranks(rank: int | Sequence[int], layers: tuple[eqx.nn.Linear, ...]) -> tuple[int, ...]:
    requested = (rank,) * len(layers) if isinstance(rank, int) else tuple(rank)
    if len(requested) != len(layers):
        raise ValueError(
            f"rank must be one int or one int per chosen layer ({len(layers)} layers); got "
            f"{len(requested)} ranks {list(requested)}."
        )
    ranks = []
    for i, (r, layer) in enumerate(zip(requested, layers, strict=True)):
        r = check_int(r, "rank" if isinstance(rank, int) else f"rank[{i}]", low=1)
        m, n = layer.weight.shape
        r_star = cur_break_even_rank(m, n)
        if r_star < 1:
            raise ValueError(
                f"layer {i} ({m} x {n}) cannot be compressed: its break-even rank is 0 (a "
                "rank-1 CUR stores more numbers than the weight); leave it out of where."
            )
        ranks.append(min(r, r_star))
    return tuple(ranks)


def _recorder(records: list[Array]) -> Callable[[Array], None]:
    def record(x: Array) -> None:
        records.append(x)

    return record


def _calibrate(
    model: PyTree, where: Callable, layers: tuple, X: PyTree, call: Callable
) -> tuple[PyTree, list[Array]]:
    """The model's outputs on the batch `X`, and the inputs of each chosen layer, stacked."""

    def one(x):
        records: tuple[list[Array], ...] = tuple([] for _ in layers)
        taps = tuple(
            _Tap(layer, _recorder(rec)) for layer, rec in zip(layers, records, strict=True)
        )
        return call(eqx.tree_at(where, model, replace=taps), x), records

    try:
        Y, records = jax.vmap(one)(X)
    except jax.errors.UnexpectedTracerError as err:
        raise ValueError(
            "compress_linear_layers records each chosen layer's inputs while the model runs on "
            "one calibration sample at a time; a chosen layer was called inside a "
            "transformation of the model's own (jax.vmap, jax.lax.scan, ...), whose inputs "
            "cannot be recorded. Choose layers the model calls directly."
        ) from err
    except (TypeError, ValueError) as err:
        shape = jax.eval_shape(lambda X: jtu.tree_map(lambda a: a[0], X), X)
        raise ValueError(
            f"calibration_inputs must be a batch of model inputs along axis 0, passed to the "
            f"model one sample at a time; calling it on a sample of shape/dtype {shape} "
            f"failed: {err}"
        ) from err
    inputs = []
    for i, rec in enumerate(records):
        if not rec:
            raise ValueError(
                f"layer {i} chosen by where was not called when the model ran on the "
                "calibration inputs, so it has no calibration data."
            )
        inputs.append(jnp.concatenate(rec, axis=0))
    return Y, inputs


def _relative_error(Y: PyTree, Y_hat: PyTree) -> Array:
    num = sum(
        jnp.sum((a - b) ** 2)
        for a, b in zip(jtu.tree_leaves(Y), jtu.tree_leaves(Y_hat), strict=True)
    )
    den = sum(jnp.sum(a**2) for a in jtu.tree_leaves(Y))
    return jnp.sqrt(num / den)


@public_jit
def compress_linear_layers(
    key: PRNGKeyArray,
    model: PyTree,
    calibration_inputs: PyTree[Array],
    rank: int | Sequence[int],
    /,
    *,
    where: Callable[[PyTree], Any] | None = None,
    selection: str = "activation",
    call: Callable[[PyTree, Any], Any] = _default_call,
) -> tuple[PyTree, CURCompressionReport]:
    r"""Replace chosen `equinox.nn.Linear` layers of a model by CUR layers (CURing).

    Runs the model on the calibration samples, recording the inputs $X_\ell$ of each chosen
    layer; replaces each weight $W_\ell$ ($m \times n$) by `layer_cur(key_ℓ, W_ℓ, X_ℓ, r_ℓ,
    selection=selection)` in a `CURLinear` with the same bias, at the rank $r_\ell = \min(r,
    r^*(m, n))$ capped at the break-even rank (`cur_break_even_rank`), so that no layer
    grows; and measures the compressed model against the original on the calibration
    samples.

    Parameters
    ----------
    key : PRNGKeyArray
        Folded with each layer's position in `where`'s result for the sampling selections.
    model : PyTree
        An `equinox.Module` (or any pytree) that `call(model, x)` evaluates on one sample.
    calibration_inputs : PyTree[Array]
        A batch of model inputs, stacked along axis 0 (``jax.vmap`` maps over it).
    rank : int or sequence of int
        The requested rank, for every chosen layer or one per layer (static, at least 1);
        capped at each layer's break-even rank.
    where : callable or None
        `model -> layer or sequence of layers`, the `equinox.nn.Linear` layers to compress,
        as for `equinox.tree_at` (e.g. ``lambda m: m.layers[:-1]`` for the hidden layers of
        an `equinox.nn.MLP`); `None` (default): every `equinox.nn.Linear` in the model.
        Static under jit (hashed by identity): reuse one function object to avoid
        recompiling.
    selection : {"activation", "weight", "leverage", "uniform"}
        As in `layer_cur`; ``"activation"`` is CURing's.
    call : callable
        `(model, x) -> output` on one sample; by default ``model(x)``. The chosen layers
        must be called on single samples by the model directly (not inside a `jax.vmap` or
        `jax.lax.scan` of its own), so that their inputs can be recorded; a layer called
        several times contributes all its inputs.

    Returns
    -------
    tuple
        The compressed model (the chosen layers replaced by `CURLinear`, everything else
        shared) and a `CURCompressionReport` (parameters before, after and saved, the
        relative output error on the calibration samples, the ranks used and the per-layer
        errors).

    Raises
    ------
    ValueError
        For a `rank` below 1 or of the wrong length, an unknown `selection`, a `where` that
        selects nothing, a layer with break-even rank 0 or one the model does not call,
        `calibration_inputs` the model cannot be called on, or layers called inside the
        model's own transformations.
    TypeError
        For a `where` that selects something other than `equinox.nn.Linear`, or a rank that
        is not an int.

    Notes
    -----
    Cost: two passes of the model over the calibration samples, and per layer the cost of
    `layer_cur`. Jittable with everything but the arrays static (`equinox.filter_jit`, which
    this function already applies). Layers inside an `equinox.nn.MLP(..., scan=True)` are
    called inside a scan and cannot be chosen; build the MLP with ``scan=False``.

    References
    ----------
    Park & Moon (2025), "CURing Large Models: Compression via CUR Decomposition",
    arXiv:2501.04211. [park2025]

    Examples
    --------
    >>> import jax, jax.numpy as jnp, equinox as eqx
    >>> import spectral
    >>> mlp = eqx.nn.MLP(16, 4, width_size=32, depth=2, key=jax.random.key(0))
    >>> X = jax.random.normal(jax.random.key(1), (100, 16))
    >>> small, report = spectral.compress_linear_layers(
    ...     jax.random.key(2), mlp, X, 6, where=lambda m: m.layers[:-1])
    >>> report.ranks, report.num_params_saved
    ((6, 6), 792)
    >>> type(small.layers[1]).__name__
    'CURLinear'
    """
    selection = check_choice(selection, "selection", SELECTIONS)
    if where is None:
        where = _all_linear_layers
    elif not callable(where):
        raise TypeError(
            f"where must be a callable model -> layers, or None; got {type(where).__name__}."
        )
    leaves = jtu.tree_leaves(calibration_inputs)
    if not leaves or any(jnp.ndim(a) < 1 for a in leaves):
        raise ValueError(
            "calibration_inputs must be a batch of model inputs stacked along axis 0 (an array "
            "of shape (batch, ...) or a pytree of them); got "
            f"{jtu.tree_map(jnp.shape, calibration_inputs)}."
        )
    batch = {jnp.shape(a)[0] for a in leaves}
    if len(batch) != 1 or 0 in batch:
        raise ValueError(
            "calibration_inputs must hold at least one sample and the same number of samples "
            f"in every leaf; got leading sizes {sorted(batch)}."
        )
    layers = _chosen_layers(model, where)
    where = _as_tuple(where)
    ranks = _ranks(rank, layers)
    Y, inputs = _calibrate(model, where, layers, calibration_inputs, call)
    new_layers, layer_errors = [], []
    for i, (layer, X, r) in enumerate(zip(layers, inputs, ranks, strict=True)):
        res = layer_cur(jr.fold_in(key, i), layer.weight, X, r, selection=selection)
        new_layers.append(CURLinear(res.C, res.U, res.R, layer.bias))
        exact = X @ layer.weight.T
        layer_errors.append(
            jnp.linalg.norm(exact - ((X @ res.R.T) @ res.U.T) @ res.C.T) / jnp.linalg.norm(exact)
        )
    compressed = eqx.tree_at(where, model, replace=tuple(new_layers))
    Y_hat = jax.vmap(lambda x: call(compressed, x))(calibration_inputs)
    before, after = _num_params(model), _num_params(compressed)
    report = CURCompressionReport(
        num_params_before=before,
        num_params_after=after,
        num_params_saved=before - after,
        output_error=_relative_error(Y, Y_hat),
        ranks=ranks,
        layer_errors=jnp.stack(layer_errors),
    )
    return compressed, report
