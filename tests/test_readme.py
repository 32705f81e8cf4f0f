"""The README's result figures are generated (docs/readme_tables.py, `make readme`), never copied: its generated
blocks must be what the code produces now, at the documented seeds and replicates, from the committed calibration
report. After a change to the model or a recalibration, `make readme` brings them back in line."""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = runpy.run_path(str(ROOT / "docs" / "readme_tables.py"), run_name="readme_tables")
README = (ROOT / "README.md").read_text(encoding="utf-8")
BLOCKS = ("headline", "results", "library", "fit", "scoreboard")


def test_the_readme_has_every_generated_block():
    assert set(SCRIPT["current"](README)) == set(BLOCKS)


def test_the_calibration_summary_is_the_committed_reports():
    assert SCRIPT["current"](README)["fit"] == SCRIPT["fit_summary"](), "README's fit summary is stale: make readme"


def test_a_stale_block_is_rewritten_and_nothing_else(tmp_path):
    text = README.replace("Suining's share of China's LFP cathode |", "Suining's share of China's LFP cathode (old) |")
    new = SCRIPT["current"](README)
    rewritten = SCRIPT["rewrite"](text, new)
    assert rewritten == README


@pytest.mark.slow
@pytest.mark.docs  # `make check-docs` (CI runs it after `make test`)
def test_the_readme_figures_are_what_the_documented_runs_give():
    """The library's runs (each scenario at its own seed, 20 replicates: about 20 s) against the README."""
    blocks = SCRIPT["blocks"](SCRIPT["run_library"]())
    stale = [name for name, body in SCRIPT["current"](README).items() if blocks[name] != body]
    assert not stale, f"README.md's generated block(s) {stale} differ from what the code gives: run `make readme`"
