"""The documentation stays true to the code: the parameter tables of docs/model.md are the declarations'."""

from pathlib import Path

import pytest

from sim.inputs.params import parameter_tables

MODEL_MD = Path(__file__).resolve().parent.parent / "docs" / "model.md"


@pytest.mark.parametrize("section, table", sorted(parameter_tables().items()))
def test_the_odd_parameter_tables_are_the_declarations(section, table):
    assert table in MODEL_MD.read_text(encoding="utf-8"), (
        f"docs/model.md, section 8: the {section} table differs from the declarations; regenerate it from "
        "sim.inputs.params.parameter_tables()"
    )
