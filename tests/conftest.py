"""Suite-wide JAX settings and fixtures.

The library never changes global JAX config; the tests do, once, here: float64 so that
oracle comparisons are meaningful, strict dtype promotion and no implicit rank promotion so
that a silent float32/float64 mix or a broadcasting slip in the library fails loudly.
"""

import jax
import pytest

jax.config.update("jax_enable_x64", True)
jax.config.update("jax_numpy_dtype_promotion", "strict")
jax.config.update("jax_numpy_rank_promotion", "raise")


@pytest.fixture
def getkey():
    """Return a function producing fresh keys from a seed printed on failure."""
    seed = 1234
    print(f"getkey seed: {seed}")
    counter = iter(range(10**6))

    def _getkey():
        return jax.random.key(seed + next(counter))

    return _getkey
