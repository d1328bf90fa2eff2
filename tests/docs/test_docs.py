"""The documentation site: a strict build that executes every notebook, and its pages.

The build runs `mkdocs build --strict` in a subprocess, so a broken docstring, a dead link,
a page missing from the nav, or a notebook cell that raises fails the suite.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
NOTEBOOKS = sorted((DOCS / "notebooks").glob("*.py"))
BUILD_TIMEOUT_S = 900  # the notebooks take well under a minute each on a 2-core CPU

_BASH_BLOCK = re.compile(r"^```bash\n(.*?)^```", re.DOTALL | re.MULTILINE)
_INLINE_PNG = re.compile(r'<img [^>]*src="data:image/png;base64,')


def _bash_blocks(path: Path) -> list[str]:
    return [block.strip() for block in _BASH_BLOCK.findall(path.read_text(encoding="utf-8"))]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Build the site once for this module into a temporary directory; fail with its log."""
    site_dir = tmp_path_factory.mktemp("site")
    env = {
        **os.environ,
        # Headless plotting outside the notebook kernel (the notebooks select the inline
        # backend themselves with `%matplotlib inline`, which needs no display either).
        "MPLBACKEND": "Agg",
        # The notebooks do many small dense LAPACK calls; a multithreaded BLAS only adds
        # contention there, and on an oversubscribed machine (pytest -n, a busy CI runner)
        # its spinning threads slow them down by orders of magnitude.
        "OPENBLAS_NUM_THREADS": "1",
        "NO_MKDOCS_2_WARNING": "1",  # Material's banner about its successor
    }
    cmd = [
        sys.executable,
        "-m",
        "mkdocs",
        "build",
        "--strict",
        "--config-file",
        str(ROOT / "mkdocs.yml"),
        "--site-dir",
        str(site_dir),
    ]
    proc = subprocess.run(
        cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=BUILD_TIMEOUT_S
    )
    if proc.returncode != 0:
        pytest.fail(
            f"`{' '.join(cmd)}` failed with exit code {proc.returncode}.\n"
            f"--- stdout ---\n{proc.stdout}\n--- stderr ---\n{proc.stderr}",
            pytrace=False,
        )
    return site_dir


@pytest.mark.slow
def test_site_builds_strict(site: Path) -> None:
    for page in (
        "index.html",
        "install/index.html",
        "how-to-choose/index.html",
        "api/spectral/index.html",
        "results/index.html",
    ):
        assert (site / page).is_file(), f"the built site has no {page}"
    api = (site / "api/spectral/index.html").read_text(encoding="utf-8")
    for name in (
        "LinearOperator",
        "aslinearoperator",
        "randomized_range_finder",
        "randomized_svd",
        "randomized_eigh",
        "nystrom",
        "block_krylov_svd",
        "lanczos_eigh",
        "SVDResult",
        "EighResult",
    ):
        assert f'id="spectral.{name}"' in api, f"the API page does not document spectral.{name}"


def test_there_are_notebooks() -> None:
    assert NOTEBOOKS, f"no teaching notebooks found in {DOCS / 'notebooks'}"


@pytest.mark.slow
@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda path: path.name)
def test_notebook_is_rendered_and_executed(site: Path, notebook: Path) -> None:
    page = site / "notebooks" / notebook.stem / "index.html"
    assert page.is_file(), (
        f"{notebook.relative_to(ROOT)} has no page in the built site (expected "
        f"{page.relative_to(site)}): is it in the nav of mkdocs.yml and matched by the "
        f"mkdocs-jupyter `include` pattern?"
    )
    html = page.read_text(encoding="utf-8")
    assert "jp-OutputArea-output" in html, f"{notebook.name} was rendered without outputs"
    # One inline PNG per `plt.show()`: figures cannot silently disappear (for instance if
    # the kernel ended up with a non-inline matplotlib backend).
    source = notebook.read_text(encoding="utf-8")
    n_shows = source.count("plt.show()")
    n_images = len(_INLINE_PNG.findall(html))
    assert n_images == n_shows, (
        f"{notebook.name} calls plt.show() {n_shows} times but its page has {n_images} figures"
    )
    warnings = re.findall(r"\b[A-Z]\w*Warning: [^\n<]*", html)
    assert not warnings, f"{notebook.name} emits warnings when executed: {warnings}"


def test_install_page_has_the_readme_commands() -> None:
    readme = _bash_blocks(ROOT / "README.md")
    install = _bash_blocks(DOCS / "install.md")
    assert len(readme) == 2, f"README.md should have exactly two bash blocks; found {readme}"
    assert install == readme, (
        "docs/install.md must show README.md's two bash commands verbatim.\n"
        f"README.md:       {readme}\ndocs/install.md: {install}"
    )


def test_python3_kernel_is_this_interpreter() -> None:
    """mkdocs-jupyter runs the notebooks on the kernel `python3` (`kernel_name` in mkdocs.yml).

    It must resolve to the interpreter running the build, i.e. the one with this package
    installed: ipykernel's own spec says "python", which jupyter_client replaces by
    `sys.executable`.
    """
    from jupyter_client.kernelspec import KernelSpecManager

    argv0 = KernelSpecManager().get_kernel_spec("python3").argv[0]
    major, minor = sys.version_info[:2]
    replaced_by_sys_executable = {"python", f"python{major}", f"python{major}.{minor}"}
    assert argv0 in replaced_by_sys_executable or (
        Path(argv0).resolve() == Path(sys.executable).resolve()
    ), f"the python3 kernel runs {argv0!r}, not this interpreter ({sys.executable})"
