"""The planners' script runs the whole scenario library and compares it (end to end, few replicates)."""

import json
import runpy
import subprocess
import sys

import pandas as pd
import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.slow  # end to end: left out of `make test-fast`


ONLY = ["low_price", "price_rebound", "demand_slowdown", "policy_package", "oversupply"]  # each kind, both price modes


def _library() -> list[str]:
    """The scenarios the script runs with ``--only ONLY``, in its order: the sample and both baselines."""
    library = runpy.run_path(str(ROOT / "scenarios" / "run_library.py"), run_name="library")["LIBRARY"]
    assert {p.stem for p in (ROOT / "scenarios").glob("*.toml")} == set(library)  # every scenario file
    return [n for n in library if n in ONLY or n in ("baseline", "baseline_market")]


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
            "--no-charts",  # the runs' charts are tested elsewhere; the comparisons still draw theirs
            "--only",
            *ONLY,
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
    path = pd.read_csv(tmp_path / "library_comparison" / "comparison.csv")
    market = pd.read_csv(tmp_path / "library_comparison_market" / "comparison.csv")
    # like with like: each scenario against the baseline of its own price mode, never the other's
    modes = {n: json.loads((tmp_path / n / "meta.json").read_text(encoding="utf-8"))["price_mode"] for n in names}
    assert list(dict.fromkeys(path.scenario)) == [
        "baseline",
        *(n for n in names if modes[n] == "path" and n != "baseline"),
    ]
    assert list(dict.fromkeys(market.scenario))[0] == "baseline_market"
    assert set(market.scenario) == {n for n in names if modes[n] == "market"}
    assert (tmp_path / "library_comparison" / "comparison.xlsx").is_file()
    # the printed differences are from the scenario's own baseline
    against_market = out.stdout[out.stdout.index("\nagainst baseline_market (") :]
    assert "oversupply" in against_market and "low_price" not in against_market
    # the headline moves the way the stories say
    va = path.query("region == 'suining' and segment == 'all' and metric == 'value_added' and year == 2030")
    va = va.set_index("scenario")["mean"]
    assert va["low_price"] < va["baseline"] < va["price_rebound"]
    assert va["demand_slowdown"] < va["baseline"] < va["policy_package"]
