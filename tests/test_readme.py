"""README.md: exactly the two commands, the one CI runs, and a tour that actually runs."""

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _blocks(language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", README, re.DOTALL | re.MULTILINE)


def test_exactly_two_commands_run_and_test():
    run, test = (block.strip() for block in _blocks("bash"))
    assert "\n" not in run
    assert "\n" not in test
    assert run.endswith("python -m experiments run quickstart")
    assert test.endswith("python -m pytest -n 2")  # two worker processes (pytest-xdist)
    for command in (run, test):
        assert command.startswith("python3 -m venv .venv && . .venv/bin/activate && pip install")


def test_ci_runs_the_readme_test_command_verbatim():
    # .ci/run extracts its command with this awk program; run the extraction itself.
    script = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    awk = re.search(r"awk '(.*?)' README.md", script).group(1)
    extracted = subprocess.run(
        ["awk", awk, "README.md"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()
    assert extracted == _blocks("bash")[1].strip()


def test_tour_runs():
    spectral_tour, rom_tour = _blocks("python")
    namespace: dict = {}
    exec(compile(spectral_tour, "README.md", "exec"), namespace)
    S, batched = namespace["S"], namespace["batched"]
    assert S.shape == (20,)
    assert batched.U.shape == (8, 2000, 20)
    exec(compile(rom_tour, "README.md", "exec"), namespace)  # continues the first block
    c, bounds = namespace["c"], namespace["bounds"]
    assert c.shape == (100, 10)
    assert bounds.shape == (100,)
    assert bool((bounds > 0).all())
