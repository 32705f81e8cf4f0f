"""The notebooks run, and are committed without outputs.

Each notebook is executed top to bottom with nbclient in a fresh ``python3`` kernel (the ipykernel of this
environment) whose working directory is the project root; the calibration notebook uses the quick budget.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

pytestmark = pytest.mark.slow  # end to end: left out of `make test-fast`

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = [ROOT / "calibration" / "calibration.ipynb", ROOT / "scenarios" / "explore.ipynb"]
TIMEOUT_S = 300  # per cell


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_committed_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            assert cell.outputs == [], f"{path.name} cell {i} has stale outputs"
            assert cell.execution_count is None, f"{path.name} cell {i} has an execution count"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_executes(path):
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    # "python3" is ipykernel's own spec (installed with it, or provided natively by jupyter_client when
    # ipykernel is importable); its argv "python" is replaced by this interpreter, so the kernel is the venv's
    client = NotebookClient(nb, timeout=TIMEOUT_S, kernel_name="python3", resources={"metadata": {"path": str(ROOT)}})
    client.execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors
