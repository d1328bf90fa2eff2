"""Shared fixtures and constants of the experiments tests."""

import jax
import pytest

# Keys every results.json "provenance" record must carry.
PROVENANCE_KEYS = frozenset(
    {
        "config_name",
        "command",
        "timestamp",
        "wall_time_s",
        "git_sha",
        "git_dirty",
        "python",
        "platform",
        "versions",
        "backend",
        "devices",
        "x64",
    }
)


@pytest.fixture(autouse=True)
def restore_x64():
    """The CLI enables x64 for the whole process; keep that from leaking into other tests."""
    before = jax.config.read("jax_enable_x64")
    yield
    jax.config.update("jax_enable_x64", before)
