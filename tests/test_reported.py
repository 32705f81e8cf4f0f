"""Chart markers read the reported figures from the calibration targets, never a copy of them."""

from __future__ import annotations

import pytest

from calibration.targets import load_targets
from sim.inputs import reported
from sim.inputs.errors import InputError


def test_the_markers_are_the_targets_values():
    targets = {(t.spec.metric, t.spec.region, t.spec.segment, t.spec.year): t.value for t in load_targets() if t.used}
    shares = reported.reported_figures("national_share", "suining", ("lithium_salt", "lfp_cathode"), 2023)
    assert shares == {s: targets[("national_share", "suining", s, 2023)] for s in shares}
    growth = reported.reported_figures("value_added_real_growth", "suining", ("all",), 2023)
    assert growth["all"] == targets[("value_added_real_growth", "suining", "all", 2023)]


def test_a_changed_target_moves_the_marker_and_a_missing_one_is_named(tmp_path, monkeypatch):
    text = reported.TARGETS_FILE.read_text(encoding="utf-8")
    edited = tmp_path / "targets.toml"
    edited.write_text(text.replace("value = 18.0", "value = 19.5", 1), encoding="utf-8")
    monkeypatch.setattr(reported, "TARGETS_FILE", edited)
    reported._figures.cache_clear()
    try:
        assert reported.reported_figures("national_share", "suining", ("lfp_cathode",), 2023) == {"lfp_cathode": 19.5}
        with pytest.raises(InputError) as err:
            reported.reported_figures("national_share", "suining", ("battery",), 2023)
        assert err.value.file == str(edited)
    finally:
        reported._figures.cache_clear()
