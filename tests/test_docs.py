"""The documentation stays true to the code: the parameter tables of docs/model.md are the declarations', a claim
that something is tested names the test, nothing fitted is said to emerge, and the model description says what
is fitted, what is an input and what is predicted."""

import re
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


ROOT = MODEL_MD.parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), ROOT / "calibration" / "README.md"]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_tested_claim_names_a_test_file_that_exists(page):
    """A claim marked as tested points to the test that checks it, in the same paragraph."""
    text = page.read_text(encoding="utf-8")
    for paragraph in re.split(r"\n\s*\n", text):
        if not re.search(r"\btested\b", paragraph):
            continue
        named = re.findall(r"tests/test_\w+\.py", paragraph)
        assert named, f"{page.name}: a '(tested)' claim names no test: {paragraph[:160]!r}"
        for name in named:
            assert (ROOT / name).is_file(), f"{page.name} names {name}, which does not exist"


def test_fitted_figures_are_called_fitted():
    """Fitted figures are called fitted: the README never says a pattern emerges, no test is named so, and the
    ODD text uses the word only for its design-concept heading (and references to it) and to say what is not
    emergent."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert not re.search(r"emerg", readme, re.I)
    for path in (ROOT / "tests").glob("test_*.py"):
        assert not re.search(r"def test_\w*emerg", path.read_text(encoding="utf-8")), path.name
    for path in sorted((ROOT / "docs").glob("*.md")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if re.search(r"emerg", line, re.I):
                allowed = ("not emergent", "emergence, adaptation", '"Emergence"')  # a heading's name, what is not
                assert line.startswith("#") or any(a in line for a in allowed), line


def test_the_docs_say_what_is_fitted_what_is_an_input_and_what_is_predicted():
    text = MODEL_MD.read_text(encoding="utf-8")
    heading = "### What is fitted, what is an input, what is predicted"
    assert heading in text
    table = text.split(heading, 1)[1].split("\n#", 1)[0]
    for kind in ("fitted", "**input**", "**identity**", "**predicted**"):
        assert kind in table
    from calibration.targets import load_targets

    for t in load_targets():
        if t.kind in ("input", "identity"):
            assert t.spec.metric in ("output",) and t.spec.region == "china", t.name  # the table's two such rows
