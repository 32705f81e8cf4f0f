"""PRIM and the Latin hypercube of scenario discovery: known boxes recovered, trajectory properties, samples."""

from __future__ import annotations

import doctest

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from matplotlib import image as mpimg
from scipy.stats import binom

import sim.discovery.prim as prim_module
from sim.discovery.confidence import ALPHA, MIN_SAMPLES, minimum_samples, quasi_p_values, sample_caveats, sure_box
from sim.discovery.prim import describe_box, latin_hypercube, prim, readable_number
from sim.discovery.report import REPORT_FILES, write_report

TRUE_BOX = {"a": (0.2, 0.6), "b": (0.3, 0.9)}  # the target holds inside, on two of five inputs
IRRELEVANT = ["c", "d", "e"]
TOLERANCE = 0.05  # on limits of inputs spread over [0, 1]


def known_box(noise: float, seed: int = 7, n: int = 2000) -> tuple[pd.DataFrame, np.ndarray]:
    """n uniform samples of five inputs; the target holds in TRUE_BOX, with a share ``noise`` of labels flipped."""
    rng = np.random.default_rng(seed)
    x = pd.DataFrame(rng.uniform(size=(n, 5)), columns=["a", "b", *IRRELEVANT])
    y = np.ones(n, dtype=bool)
    for name, (lower, upper) in TRUE_BOX.items():
        y &= (x[name] >= lower).to_numpy() & (x[name] <= upper).to_numpy()
    return x, y ^ (rng.uniform(size=n) < noise)


def check_trajectory(result, x: pd.DataFrame, y: np.ndarray, min_support: float) -> None:
    """What PRIM guarantees along any trajectory."""
    t = result.trajectory
    assert list(t["step"]) == list(range(len(t))) and len(result.boxes) == len(t)
    assert (np.diff(t["density"]) > 0).all(), "each peel raises the density"
    assert (np.diff(t["coverage"]) <= 0).all() and (np.diff(t["support"]) < 0).all()
    assert (np.diff(t["n_restricted"]) >= 0).all()
    assert (t["support"] >= min_support).all() and t.loc[0, "support"] == 1
    low, high = x.min().to_numpy(), x.max().to_numpy()
    for i, limits in enumerate(result.boxes):
        lower, upper = limits.loc["lower"].to_numpy(), limits.loc["upper"].to_numpy()
        assert (low <= lower).all() and (lower <= upper).all() and (upper <= high).all()
        if i:  # boxes are nested
            previous = result.boxes[i - 1]
            assert (lower >= previous.loc["lower"]).all() and (upper <= previous.loc["upper"]).all()
        inside = result.inside(x, i)
        manual = ((x >= limits.loc["lower"]) & (x <= limits.loc["upper"])).all(axis=1).to_numpy()
        np.testing.assert_array_equal(inside, manual)
        assert inside.sum() == t.loc[i, "mass"] == round(t.loc[i, "support"] * len(x))
        assert t.loc[i, "density"] == pytest.approx(y[inside].mean())
        assert t.loc[i, "coverage"] == pytest.approx(y[inside].sum() / y.sum())
        assert t.loc[i, "n_restricted"] == result.box(i)["restricted"].sum()
        assert t.loc[i, [f"{name}_lower" for name in x.columns]].tolist() == lower.tolist()


@pytest.mark.parametrize("noise", [0.0, 0.05])
def test_recovers_known_box_and_leaves_irrelevant_inputs_free(noise):
    x, y = known_box(noise)
    result = prim(x, y)
    box = result.box().set_index("dimension")
    for name, (lower, upper) in TRUE_BOX.items():
        assert box.loc[name, "restricted"]
        assert box.loc[name, "lower"] == pytest.approx(lower, abs=TOLERANCE)
        assert box.loc[name, "upper"] == pytest.approx(upper, abs=TOLERANCE)
    assert not box.loc[IRRELEVANT, "restricted"].any()
    stats = result.chosen_stats
    assert stats["n_restricted"] == 2 and stats["density"] >= 0.9 - noise * 2 and stats["coverage"] >= 0.8
    check_trajectory(result, x, y, 0.05)


@pytest.mark.parametrize("noise", [0.0, 0.05])
def test_chosen_box_is_the_knee_of_coverage_times_density(noise):
    x, y = known_box(noise)
    result = prim(x, y)
    product = result.trajectory["coverage"] * result.trajectory["density"]
    assert result.chosen == product.idxmax()
    assert result.select().chosen == result.chosen
    if noise:  # noise lets peeling go on into the box, past the knee
        assert result.chosen < len(result.boxes) - 1


def test_deterministic():
    x, y = known_box(0.05)
    first, second = prim(x, y), prim(x, y)
    pd.testing.assert_frame_equal(first.trajectory, second.trajectory)
    pd.testing.assert_frame_equal(first.box(), second.box())


def test_min_support_bounds_the_peeling():
    x, y = known_box(0.05)
    result = prim(x, y, min_support=0.3)
    assert result.trajectory["support"].min() >= 0.3
    assert len(result.boxes) < len(prim(x, y).boxes)


def test_select_by_index_density_and_threshold():
    x, y = known_box(0.05)
    result = prim(x, y)
    last = result.select(-1)
    assert last.chosen == len(result.boxes) - 1 and result.chosen != last.chosen  # a new result; the old one stays
    dense = result.select(min_density=0.5)
    assert dense.trajectory.loc[dense.chosen, "density"] >= 0.5 > dense.trajectory.loc[dense.chosen - 1, "density"]
    assert prim(x, y, threshold=0.5).chosen == dense.chosen
    unreachable = prim(x, y, threshold=1.01)
    assert unreachable.chosen == result.chosen and not unreachable.meets_threshold and result.meets_threshold
    with pytest.raises(ValueError, match="no step reaches"):
        result.select(min_density=1.01)
    with pytest.raises(IndexError):
        result.select(len(result.boxes))


def test_pasting_widens_an_over_peeled_box_and_raises_its_density():
    # coarse peels overshoot the true box; pasting with fine steps gives some of it back
    x, y = known_box(0.0)
    peeled = prim(x, y, peel_alpha=0.25, paste_alpha=0.0)
    pasted = prim(x, y, peel_alpha=0.25, paste_alpha=0.01).select(peeled.chosen)
    assert pasted.chosen_stats["density"] >= peeled.chosen_stats["density"]
    assert pasted.chosen_stats["coverage"] > peeled.chosen_stats["coverage"]
    before, after = peeled.chosen_box, pasted.chosen_box
    assert (after.loc["lower"] <= before.loc["lower"]).all() and (after.loc["upper"] >= before.loc["upper"]).all()
    assert pasted.inside(x).sum() == pasted.chosen_stats["mass"]
    pd.testing.assert_frame_equal(peeled.chosen_box, peeled.boxes[peeled.chosen])


def test_integer_inputs_and_ties():
    rng = np.random.default_rng(3)
    x = pd.DataFrame({"plants": rng.integers(0, 6, 600), "price": rng.uniform(size=600)})
    y = (x.plants >= 3).to_numpy() & (x.price < 0.5).to_numpy()
    result = prim(x, y)
    box = result.box().set_index("dimension")
    assert box.loc["plants", "lower"] == 3 and box.loc["plants", "upper"] == 5
    assert box.loc["price", "upper"] == pytest.approx(0.5, abs=TOLERANCE)
    check_trajectory(result, x, y, 0.05)


def test_rejects_inputs_it_cannot_use():
    x, y = known_box(0.0, n=50)
    with pytest.raises(ValueError, match="no sample"):
        prim(x, np.zeros(50, dtype=bool))
    with pytest.raises(ValueError, match="boolean"):
        prim(x, y.astype(int))
    with pytest.raises(TypeError, match="numeric"):
        prim(x.assign(region=pd.Categorical(["east", "west"] * 25)), y)
    with pytest.raises(ValueError, match="finite"):
        prim(x.assign(a=np.nan), y)
    with pytest.raises(ValueError, match="peel_alpha"):
        prim(x, y, peel_alpha=0)


@settings(max_examples=60, deadline=None)
@given(
    data=st.data(),
    n=st.integers(2, 80),
    dims=st.integers(1, 3),
    whole=st.booleans(),
    peel_alpha=st.floats(0.01, 0.5),
    min_support=st.floats(0.01, 0.9),
)
def test_trajectory_properties_on_random_data(data, n, dims, whole, peel_alpha, min_support):
    elements = st.integers(-5, 5) if whole else st.floats(-1e6, 1e6, allow_nan=False, allow_subnormal=False)
    values = data.draw(arrays(np.int64 if whole else np.float64, (n, dims), elements=elements))
    y = data.draw(arrays(bool, n).filter(np.any))
    x = pd.DataFrame(values, columns=[f"x{j}" for j in range(dims)])
    result = prim(x, y, peel_alpha=peel_alpha, min_support=min_support)
    check_trajectory(result, x, y, min_support)
    assert result.inside(x).sum() == result.chosen_stats["mass"]
    assert result.chosen_stats["density"] >= result.trajectory.loc[result.chosen, "density"]


# ---------------------------------------------------------------------------------------------------------
# the box in words
# ---------------------------------------------------------------------------------------------------------
def test_box_in_words():
    box = pd.DataFrame(
        {
            "dimension": ["price", "growth", "plants", "cost"],
            "lower": [62_040.0, 0.0912, 0.0, 0.8],
            "upper": [95_010.0, 0.30, 4.0, 1.2],
            "range_lower": [40_000.0, 0.0, 0.0, 0.8],
            "range_upper": [150_000.0, 0.30, 9.0, 1.2],
        }
    )
    labels = {"price": "carbonate price level", "growth": "demand growth", "plants": "new plants"}
    units = {"price": "yuan/t", "growth": "%/yr"}
    assert describe_box(box, labels, units) == (
        "carbonate price level between 62,000 and 95,000 yuan/t; demand growth at least 9.12%/yr; new plants at most 4"
    )
    zh = describe_box(box, {"price": "碳酸锂价格"}, {"price": "元/吨", "growth": "%/年"}, lang="zh")
    assert zh == "碳酸锂价格介于62,000与95,000元/吨之间；growth不低于9.12%/年；plants不高于4"
    assert describe_box(box.assign(lower=box.range_lower, upper=box.range_upper)).startswith("no restriction")
    assert [readable_number(v) for v in (0, 1234567, 0.000123456, -5.5, 100)] == [
        "0",
        "1,230,000",
        "0.000123",
        "-5.5",
        "100",
    ]


def test_docstring_examples():
    assert doctest.testmod(prim_module).failed == 0


# ---------------------------------------------------------------------------------------------------------
# Latin hypercube
# ---------------------------------------------------------------------------------------------------------
BOUNDS = {"price": (40_000.0, 150_000.0), "growth": (-0.05, 0.3), "cost_factor": (0.8, 1.2)}


def strata(frame: pd.DataFrame, bounds: dict, n: int) -> dict[str, np.ndarray]:
    return {k: np.sort(np.floor((frame[k] - lo) / (hi - lo) * n).to_numpy()) for k, (lo, hi) in bounds.items()}


@pytest.mark.parametrize("n", [1, 7, 100])
def test_latin_hypercube_has_one_sample_per_stratum_within_bounds(n):
    frame = latin_hypercube(BOUNDS, n, seed=11)
    assert list(frame.columns) == list(BOUNDS) and len(frame) == n
    for name, (lo, hi) in BOUNDS.items():
        assert frame[name].between(lo, hi).all()
    for name, cells in strata(frame, BOUNDS, n).items():
        np.testing.assert_array_equal(cells, np.arange(n), err_msg=name)


def test_latin_hypercube_is_seeded():
    first = latin_hypercube(BOUNDS, 50, seed=5)
    pd.testing.assert_frame_equal(first, latin_hypercube(BOUNDS, 50, seed=5))
    pd.testing.assert_frame_equal(first, latin_hypercube(BOUNDS, 50, seed=np.random.SeedSequence(5)))
    pd.testing.assert_frame_equal(first, latin_hypercube(BOUNDS, 50, seed=np.random.default_rng(5)))
    assert not first.equals(latin_hypercube(BOUNDS, 50, seed=6))


def test_latin_hypercube_integer_inputs_take_each_value_equally_often():
    frame = latin_hypercube({"plants": (1, 5), "price": (0.0, 1.0)}, 50, seed=2, integers=["plants"])
    assert frame["plants"].dtype == np.int64
    assert frame["plants"].value_counts().sort_index().to_dict() == {1: 10, 2: 10, 3: 10, 4: 10, 5: 10}
    with pytest.raises(ValueError, match="whole-number"):
        latin_hypercube({"plants": (1, 5.5)}, 10, seed=1, integers=["plants"])
    with pytest.raises(ValueError, match="lower < upper"):
        latin_hypercube({"price": (1.0, 1.0)}, 10, seed=1)


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(1, 200),
    lower=st.floats(-1e6, 1e6),
    width=st.floats(1e-3, 1e6),
    seed=st.integers(0, 2**32 - 1),
)
def test_latin_hypercube_properties(n, lower, width, seed):
    bounds = {"u": (lower, lower + width), "v": (0.0, 1.0)}
    frame = latin_hypercube(bounds, n, seed=seed)
    assert frame["u"].between(lower, lower + width).all()
    np.testing.assert_array_equal(strata(frame, {"v": (0.0, 1.0)}, n)["v"], np.arange(n))


# ---------------------------------------------------------------------------------------------------------
# the report
# ---------------------------------------------------------------------------------------------------------
LABELS = {"a": "carbonate price level", "b": "demand growth"}
UNITS = {"a": "yuan/t", "b": "%/yr"}


def check_png(path) -> None:
    image = mpimg.imread(path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and image.shape[0] > 200 and image.shape[1] > 400


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_report_writes_tables_charts_and_markdown(tmp_path, lang):
    x, y = known_box(0.05, n=600)
    x["a"] = 40_000 + x["a"] * 110_000  # yuan/t
    outcome = np.where(y, 1.0, 0.0) + x["c"].to_numpy()
    result = prim(x, y)
    paths = write_report(tmp_path / "out", x, outcome, y, result, question="value added at least 500 亿元",
                         labels=LABELS, units=UNITS, lang=lang)  # fmt: skip
    assert [p.name for p in paths] == list(REPORT_FILES) and all(p.is_file() for p in paths)
    samples = pd.read_csv(tmp_path / "out" / "samples.csv")
    assert list(samples.columns) == [*x.columns, "outcome", "target"] and samples["target"].sum() == y.sum()
    trajectory = pd.read_csv(tmp_path / "out" / "trajectory.csv")
    pd.testing.assert_frame_equal(trajectory, result.trajectory, check_dtype=False)
    boxes = pd.read_csv(tmp_path / "out" / "boxes.csv")
    assert len(boxes) == (len(result.boxes) + 1) * x.shape[1] and set(boxes["stage"]) == {"peel", "paste"}
    for name in ("trajectory.png", "box_limits.png", "box_scatter.png"):
        check_png(tmp_path / "out" / name)
    report = (tmp_path / "out" / "REPORT.md").read_text(encoding="utf-8")
    assert "# Scenario discovery: value added at least 500 亿元" in report
    assert describe_box(result.box(), LABELS, UNITS) in report and "carbonate price level between" in report
    assert f"The target holds in {y.sum():,} of them ({y.mean():.1%})" in report and "600 scenarios" in report
    assert f"**{result.chosen} (chosen)**" in report and "coverage × density" in report
    for name in ("trajectory.png", "box_limits.png", "box_scatter.png"):
        assert f"]({name})" in report


def test_report_of_a_box_without_restrictions_on_one_input(tmp_path):
    # the target holds everywhere: nothing to peel, a single input plotted against the outcome
    x = pd.DataFrame({"price": np.linspace(40_000, 150_000, 50)})
    y = np.ones(50, dtype=bool)
    result = prim(x, y)
    assert len(result.boxes) == 1 and result.chosen == 0
    write_report(tmp_path, x, np.arange(50.0), y, result, question="any", lang="zh")
    assert "no restriction" in (tmp_path / "REPORT.md").read_text(encoding="utf-8")
    for name in ("trajectory.png", "box_limits.png", "box_scatter.png"):
        check_png(tmp_path / name)


def test_report_marks_a_pasted_box(tmp_path):
    x, y = known_box(0.0, n=600)
    result = prim(x, y, peel_alpha=0.25, paste_alpha=0.01)
    pasted = next(result.select(i) for i in range(len(result.boxes)) if result.select(i).chosen_stats["mass"]
                  != result.trajectory.loc[i, "mass"])  # fmt: skip
    write_report(tmp_path, x, y.astype(float), y, pasted, question="q")
    assert "pasting then widened it" in (tmp_path / "REPORT.md").read_text(encoding="utf-8")
    with pytest.raises(ValueError, match="language"):
        write_report(tmp_path, x, y.astype(float), y, pasted, question="q", lang="fr")


# --- how sure a box is (sim.discovery.confidence) -------------------------------------------------------------
def twelve_inputs(n: int, seed: int = 11, noise: float = 0.05) -> tuple[pd.DataFrame, np.ndarray]:
    """n uniform draws of twelve inputs, as many as discovery samples; the target holds in TRUE_BOX (on a, b)."""
    rng = np.random.default_rng(seed)
    names = ["a", "b", *(f"x{i}" for i in range(10))]
    x = pd.DataFrame(rng.uniform(size=(n, 12)), columns=names)
    y = np.ones(n, dtype=bool)
    for name, (lower, upper) in TRUE_BOX.items():
        y &= (x[name] >= lower).to_numpy() & (x[name] <= upper).to_numpy()
    return x, y ^ (rng.uniform(size=n) < noise)


def test_enough_draws_report_the_known_box_with_only_significant_inputs_and_stable_resamples():
    x, y = twelve_inputs(600)
    sure = sure_box(x, y, seed=3, resamples=40)
    box = sure.result.box().set_index("dimension")
    assert set(box.index[box.restricted]) == set(TRUE_BOX)  # only the inputs that matter
    for name, (lower, upper) in TRUE_BOX.items():
        assert box.loc[name, "lower"] == pytest.approx(lower, abs=0.06)
        assert box.loc[name, "upper"] == pytest.approx(upper, abs=0.06)
    assert (sure.p_values["p_value"] < ALPHA).all() and set(sure.p_values["dimension"]) == set(TRUE_BOX)
    assert len(sure.resamples) == 40
    coverage, density = sure.interval("coverage"), sure.interval("density")
    stats = sure.result.chosen_stats
    assert coverage[1] <= stats["coverage"] <= coverage[2] and density[1] <= stats["density"] <= density[2]
    assert coverage[2] - coverage[1] < 0.2 and density[2] - density[1] < 0.2  # a box that holds still
    out_of_bag = sure.interval("density_out_of_bag")
    assert out_of_bag[0] > 0.75  # boxes found on resamples hold on the draws they did not see
    assert (sure.reproduced[list(TRUE_BOX)] >= 0.9).all() and sure.reproduced.drop(list(TRUE_BOX)).max() < 0.5
    assert not sample_caveats(len(y), x.shape[1], int(y.sum()))


def test_a_limit_that_fits_by_chance_is_dropped():
    x, y = twelve_inputs(300, seed=7)
    peeled = prim(x, y)
    sure = sure_box(x, y, seed=1, resamples=5)
    kept = set(sure.result.box().query("restricted")["dimension"])
    assert kept <= set(peeled.box().query("restricted")["dimension"])
    assert set(TRUE_BOX) <= kept
    for name in sure.dropped_inputs:  # dropped inputs were restricted, and failed the test when lifted
        assert name not in TRUE_BOX and name in set(sure.dropped["dimension"])
    assert (sure.dropped["p_value"] >= ALPHA).all()
    assert sure.result.chosen_stats["n_restricted"] == len(kept)


def test_quasi_p_value_is_the_one_sided_binomial_tail():
    x, y = twelve_inputs(300, seed=5)
    values = x.to_numpy()
    ranges = np.vstack([values.min(axis=0), values.max(axis=0)])
    limits = ranges.copy()
    limits[:, 0] = [0.2, 0.6]
    limits[1, 2] = 0.9  # an input that does not matter
    table = quasi_p_values(values, y, limits, ranges).set_index(["input", "side"])
    inside = np.all((values >= limits[0]) & (values <= limits[1]), axis=1)
    hits, total = int(y[inside].sum()), int(inside.sum())
    lifted = limits.copy()
    lifted[1, 2] = ranges[1, 2]
    wider = np.all((values >= lifted[0]) & (values <= lifted[1]), axis=1)
    by_hand = binom.sf(hits - 1, total, y[wider].mean())  # P(X >= hits)
    assert table.loc[(2, 1), "p_value"] == pytest.approx(by_hand, rel=1e-9)
    assert table.loc[(2, 1), "p_value"] > ALPHA > table.loc[(0, 0), "p_value"]
    assert len(table) == 3  # a limit at the sampled range is no restriction


def test_few_draws_warn_and_keep_no_chance_limits():
    x, y = twelve_inputs(24, seed=2)
    caveats = sample_caveats(24, 12, int(y.sum()))
    assert "few_samples" in {c.key for c in caveats}
    assert all("24" in c.en and "24" in c.zh for c in caveats if c.key == "few_samples")
    assert minimum_samples(12) == 120 > 24 and minimum_samples(2) == MIN_SAMPLES
    sure = sure_box(x, y, seed=1, resamples=10)
    assert sure.p_values.empty or (sure.p_values["p_value"] < ALPHA).all()
    assert len(sure.dropped) > 0  # peeling restricted inputs that do not pass with so few draws


@pytest.mark.parametrize(("holds", "key"), [(3, "target_none"), (497, "target_all"), (250, None)])
def test_a_target_that_nearly_always_or_never_holds_is_flagged(holds, key):
    keys = {c.key for c in sample_caveats(500, 12, holds)}
    assert ("target_none" in keys, "target_all" in keys) == (key == "target_none", key == "target_all")


def test_resamples_are_reproducible_from_the_seed():
    x, y = twelve_inputs(200, seed=4)
    first, second = sure_box(x, y, seed=9, resamples=8), sure_box(x, y, seed=9, resamples=8)
    pd.testing.assert_frame_equal(first.resamples, second.resamples)
    assert not first.resamples.equals(sure_box(x, y, seed=10, resamples=8).resamples)


def test_few_replicates_per_draw_are_flagged():
    assert "few_replicates" in {c.key for c in sample_caveats(500, 12, 250, replicates=2)}
    assert not sample_caveats(500, 12, 250, replicates=10)
