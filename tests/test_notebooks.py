"""The notebooks run, are committed with their outputs, and show their charts.

Each notebook is executed top to bottom with nbclient in a fresh ``python3`` kernel (the ipykernel of this
environment) whose working directory is the project root; the calibration notebook runs the quick budget's
search and fit table, and reads the uncertainty, identification, backtest, sensitivity and recovery from the
committed report.
Importing ``sim`` leaves matplotlib's backend alone, so a notebook's own charts appear where it draws them.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = [ROOT / "calibration" / "calibration.ipynb", ROOT / "scenarios" / "explore.ipynb"]
TIMEOUT_S = 300  # per cell


def _outputs(nb) -> list:
    return [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_committed_with_its_outputs(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.execution_count is not None for c in code), f"{path.name} was not run top to bottom"
    assert [c.execution_count for c in code] == list(range(1, len(code) + 1)), f"{path.name}: cells run out of order"
    outputs = _outputs(nb)
    assert not [o for o in outputs if o.output_type == "error"]
    assert any("image/png" in o.get("data", {}) for o in outputs), f"{path.name} shows no chart"


def test_the_calibration_notebook_says_what_the_quick_fit_moved():
    nb = nbformat.read(NOTEBOOKS[0], as_version=4)
    text = "".join(o.get("text", "") for o in _outputs(nb) if o.output_type == "stream")
    assert "parameters moved by the quick fit:" in text and "objective: hand-set" in text
    moved = int(text.split("parameters moved by the quick fit:")[1].split("of")[0])
    assert moved > 0


@pytest.mark.slow  # full scenario runs: left out of `make test-fast`
def test_importing_sim_leaves_the_matplotlib_backend_alone():
    script = (
        "import matplotlib\n"
        "import sim, sim.api, sim.outputs.charts, sim.runs.runner, sim.runs.compare, sim.cli\n"
        "import sim.discovery.explore, sim.discovery.report, sim.app.charts\n"
        "print(matplotlib.get_backend())\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        env={**os.environ, "MPLBACKEND": "svg"},
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=True,
    )
    assert done.stdout.strip() == "svg"


@pytest.mark.slow  # end to end: left out of `make test-fast`
@pytest.mark.docs  # `make check-docs` (CI runs it after `make test`)
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_executes(path):
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    # "python3" is ipykernel's own spec (installed with it, or provided natively by jupyter_client when
    # ipykernel is importable); its argv "python" is replaced by this interpreter, so the kernel is the venv's
    client = NotebookClient(nb, timeout=TIMEOUT_S, kernel_name="python3", resources={"metadata": {"path": str(ROOT)}})
    client.execute()
    assert not [o for o in _outputs(nb) if o.output_type == "error"]
    assert any("image/png" in o.get("data", {}) for o in _outputs(nb))
