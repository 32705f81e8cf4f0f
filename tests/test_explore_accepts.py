"""`explore` accepts what `run` accepts: every uncertain input, at the ends and the middle of its range, changes
every library scenario, and a scenario that ends in 2025 (before the years most inputs act in), without an
error; `lithium-sim explore` on such a scenario runs and writes its report."""

from __future__ import annotations

import pytest

from sim.api import load_scenario
from sim.cli import main
from sim.discovery.explore import HISTORY_END_YEAR, apply_inputs, uncertain_inputs
from tests.conftest import BASELINE, LIBRARY


@pytest.fixture(scope="module")
def ending_2025(tmp_path_factory):
    """The baseline ending in December 2025 (as `check` and `run` accept it)."""
    text = BASELINE.read_text(encoding="utf-8").replace('end = "2030-12"', f'end = "{HISTORY_END_YEAR}-12"')
    text = "\n".join(line for line in text.splitlines() if not line.startswith(('"2026-', '"2027-')))
    path = tmp_path_factory.mktemp("short") / "ends_2025.toml"
    path.write_text(text.replace('name = "baseline"', 'name = "ends_2025"'), encoding="utf-8")
    assert main(["check", str(path)]) == 0
    return path


@pytest.mark.parametrize("path", [*LIBRARY, "ends_2025"], ids=lambda p: getattr(p, "stem", p))
def test_every_uncertain_input_changes_every_scenario_run_accepts(path, ending_2025):
    scenario = load_scenario(ending_2025 if path == "ends_2025" else path)
    inputs = uncertain_inputs(scenario)
    assert inputs
    for share in (0.0, 0.5, 1.0):
        values = {u.name: u.low + share * (u.high - u.low) for u in inputs}
        changed = apply_inputs(scenario, inputs, values)
        assert changed.end_month == scenario.end_month


@pytest.mark.slow
def test_explore_runs_on_a_scenario_that_ends_in_2025(ending_2025, tmp_path, capsys):
    out = tmp_path / "explore"
    args = ["explore", str(ending_2025), "--target", "value_added[suining,all,2025] >= 40", "--out", str(out)]
    assert main([*args, "--samples", "8", "--replicates", "1", "--quiet"]) == 0, capsys.readouterr().err
    assert "scenarios drawn" in capsys.readouterr().out
    assert (out / "samples.csv").is_file() and (out / "SUMMARY.md").is_file()
