"""Suite-wide JAX settings and fixtures.

The library never changes global JAX config; the tests do, once, here: float64 so that
oracle comparisons are meaningful, strict dtype promotion and no implicit rank promotion so
that a silent float32/float64 mix or a broadcasting slip in the library fails loudly; and
XLA's CPU optimization level, for compile time (below).
"""

import gc
import os

# The suite is compile-bound (hundreds of small jitted programs, most run once): XLA's CPU
# backend at LLVM optimization level 0 compiles them ~40% faster, and the numbers are the
# same (no fast-math either way). Set before JAX starts its backend; inherited by the
# subprocesses the suite starts (the docs build's notebook kernels). A level the caller set
# in XLA_FLAGS wins.
if "xla_backend_optimization_level" not in os.environ.get("XLA_FLAGS", ""):
    os.environ["XLA_FLAGS"] = (
        os.environ.get("XLA_FLAGS", "") + " --xla_backend_optimization_level=0"
    ).strip()

import tempfile

import jax
import pytest

jax.config.update("jax_enable_x64", True)
jax.config.update("jax_numpy_dtype_promotion", "strict")
jax.config.update("jax_numpy_rank_promotion", "raise")

# Many tests compile the same program from a fresh closure (a jitted function built per call),
# which the in-memory cache misses: a persistent compilation cache for this run, shared by the
# xdist workers (same run id) and the notebook kernels of the docs build (environment), catches
# those. Compilation is keyed by the program, so the results are unchanged.
_CACHE = os.path.join(
    tempfile.gettempdir(),
    "spectral-rom-test-jax-cache",
    os.environ.get("PYTEST_XDIST_TESTRUNUID", f"pid{os.getpid()}"),
)
for _name, _value in (
    ("jax_compilation_cache_dir", _CACHE),
    ("jax_persistent_cache_min_compile_time_secs", 0.0),
    ("jax_persistent_cache_min_entry_size_bytes", 0),
):
    jax.config.update(_name, _value)
    os.environ.setdefault(_name.upper(), str(_value))


# Every program XLA:CPU compiles keeps ~3 memory mappings per kernel (code, read-only data,
# data): a randomized_svd is ~220 of them, and JAX keeps compiled programs alive in its caches.
# A worker that runs hundreds of tests passes Linux's per-process limit (vm.max_map_count,
# 65530 by default); the next mmap in the compiler then fails and the worker dies of a
# segfault (seen in CI, in whichever test compiled at that moment). So when a worker holds
# more than half the limit, drop JAX's caches (the persistent cache above still has the programs).
def _read_int(path: str) -> int | None:
    try:
        with open(path, "rb") as f:
            return int(f.read())
    except (OSError, ValueError):
        return None


_MAX_MAP_COUNT = _read_int("/proc/sys/vm/max_map_count")


def _memory_map_count() -> int:
    with open("/proc/self/maps", "rb") as f:
        return f.read().count(b"\n")


@pytest.fixture(autouse=True)
def _release_compiled_programs_near_the_mmap_limit():
    """After each test, clear JAX's caches if this process holds over half its mmap limit."""
    yield
    if _MAX_MAP_COUNT is not None and _memory_map_count() > _MAX_MAP_COUNT // 2:
        jax.clear_caches()
        gc.collect()


@pytest.fixture
def getkey():
    """Return a function producing fresh keys from a seed printed on failure."""
    seed = 1234
    print(f"getkey seed: {seed}")
    counter = iter(range(10**6))

    def _getkey():
        return jax.random.key(seed + next(counter))

    return _getkey
