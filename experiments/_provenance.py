"""Provenance of a run: code version, library versions and the hardware it ran on."""

import importlib.metadata
import platform
import subprocess
from pathlib import Path
from typing import Any

import jax

_PACKAGES = ("jax", "jaxlib", "numpy", "equinox", "matplotlib", "tqdm", "spectral-rom")
_REPO_ROOT = Path(__file__).resolve().parent.parent


def _git(*args: str) -> str | None:
    try:
        proc = subprocess.run(
            ["git", *args],
            cwd=_REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):  # no git, not a repository, hung
        return None
    return proc.stdout.strip()


def git_info() -> dict[str, Any]:
    """Commit of the source tree that `experiments` was imported from, if it is a checkout.

    Returns
    -------
    dict[str, Any]
        `git_sha` (the `HEAD` commit, or `None` where git is missing or the package is not
        in a git checkout of this project, as for an installed wheel) and `git_dirty`
        (whether the working tree differs from `HEAD`, untracked files that git does not
        ignore included, or `None` where unknown).
    """
    top = _git("rev-parse", "--show-toplevel")
    if top is None or Path(top).resolve() != _REPO_ROOT:
        return {"git_sha": None, "git_dirty": None}
    sha = _git("rev-parse", "HEAD")
    status = _git("status", "--porcelain")  # untracked (not ignored) files count too
    return {"git_sha": sha or None, "git_dirty": None if status is None else bool(status)}


def _version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def environment() -> dict[str, Any]:
    """Python, platform, library versions, JAX backend, devices and the x64 flag.

    Returns
    -------
    dict[str, Any]
        `python`, `platform`, `versions` (package name to version or `None`), `backend`
        (`jax.default_backend()`), `devices` (the device kinds, one per device), `x64`.
    """
    return {
        "python": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "versions": {name: _version(name) for name in _PACKAGES},
        "backend": jax.default_backend(),
        "devices": [d.device_kind for d in jax.devices()],
        "x64": bool(jax.config.read("jax_enable_x64")),
    }


def provenance(
    *, config_name: str, command: list[str], timestamp: str, wall_time_s: float
) -> dict[str, Any]:
    """Everything needed to tell how and where a result was produced.

    Parameters
    ----------
    config_name : str
        The config (or `bench-NAME`) that was run.
    command : list[str]
        The CLI arguments, e.g. `["run", "quickstart"]`.
    timestamp : str
        When the run started, ISO 8601 with a UTC offset.
    wall_time_s : float
        Seconds the run took.

    Returns
    -------
    dict[str, Any]
        `config_name`, `command`, `timestamp`, `wall_time_s`, the keys of `git_info` and
        of `environment`.
    """
    return {
        "config_name": config_name,
        "command": command,
        "timestamp": timestamp,
        "wall_time_s": wall_time_s,
        **git_info(),
        **environment(),
    }
