"""The planners' script runs the whole scenario library and compares it (end to end, few replicates)."""

import runpy
import subprocess
import sys

import pandas as pd
import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.slow  # end to end: left out of `make test-fast`


def _library() -> list[str]:
    """The scenarios the script runs, as it lists them."""
    return list(runpy.run_path(str(ROOT / "scenarios" / "run_library.py"), run_name="library")["LIBRARY"])


def test_run_library_script(tmp_path):
    out = subprocess.run(
        [
            sys.executable,
            str(ROOT / "scenarios" / "run_library.py"),
            "--replicates",
            "2",
            "--workers",
            "1",
            "--results",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    names = _library()
    for name in names:
        assert (tmp_path / name / "summary.csv").is_file()
        assert name in out.stdout
    table = pd.read_csv(tmp_path / "library_comparison" / "comparison.csv")
    assert sorted(table.scenario.unique()) == sorted(names)
    assert (tmp_path / "library_comparison" / "comparison.xlsx").is_file()
    # the headline moves the way the stories say
    va = table.query("region == 'suining' and segment == 'all' and metric == 'value_added' and year == 2030")
    va = va.set_index("scenario")["mean"]
    assert va["low_price"] < va["baseline"] < va["price_rebound"]
    assert va["demand_slowdown"] < va["baseline"] < va["policy_package"]
