"""How sure a PRIM box is: enough draws, limits that pass a significance test, and the box over resamples.

A box peeled from a few dozen draws over a dozen inputs fits noise: with 24 draws, limits such as "a project's
chance of being built at most 91%" reach full coverage and density by luck. Three checks (Bryant and Lempert
2010, section 4; Kwakkel and Jaxa-Rozen 2016 for the resampling) keep discovery honest:

1. **Enough draws.** `minimum_samples`: at least `DRAWS_PER_INPUT` draws per uncertain input and at least
   `MIN_SAMPLES`; below it the result carries a warning. A target that holds in nearly none or nearly all of
   the draws (fewer than `MIN_MINORITY` cases on one side) gets a warning too: there is little to discover.
2. **Only significant limits.** For each limit of the box, the *quasi-p value* of Bryant and Lempert: lift that
   one limit, take the density of the wider box as the chance ``p`` of a case, and ask with a one-sided binomial
   test how likely the box's own count of cases (``H`` of its ``T`` draws) would be by chance,
   ``P(Binomial(T, p) >= H)``. The limit with the largest p-value above `ALPHA` is lifted and the test repeated,
   until every remaining limit passes (`significant_limits`); an input whose limits are all lifted is dropped
   from the reported box. This is the test EMA workbench's PRIM reports (``PrimBox.inspect``), used here to
   prune rather than only to annotate.
3. **The box over bootstrap resamples.** `resample`: ``resamples`` bootstrap samples of the draws (with
   replacement); on each, PRIM runs again (same settings, same choice of step, same pruning). Reported: the
   reported box's coverage and density on each resample (how much they move with the sample), the coverage and
   density of each resample's own box on the draws it did not see (out of bag: a box that only fits noise does
   not hold there), and how often each input is restricted across resamples.

Why not EMA workbench's PRIM (2.5.x, BSD, the version that runs on Python 3.11)? Measured on this machine:
it adds about 155 MB to the environment (scikit-learn, statsmodels, seaborn, platypus) and about 2 s to the
import; it warns at import (ipyparallel missing), which the test suite turns into an error; its resampling
draws from NumPy's global random state (not reproducible from a seed we pass) and reports how often each input
is restricted, not the box's coverage and density across resamples. Its significance test is the binomial
quasi-p value above, which needs only `scipy.stats.binomtest`; our PRIM (`sim.discovery.prim`) was already
tested on known boxes. So the test is reimplemented here on SciPy, checked against the same definition.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd
from scipy.stats import binomtest

from sim.discovery.prim import PrimResult, prim

ALPHA = 0.05  # a limit stays in the reported box when its quasi-p value is below this (Bryant and Lempert 2010)
DRAWS_PER_INPUT = 10  # minimum draws per uncertain input
MIN_SAMPLES = 50  # and never fewer than this
MIN_MINORITY = 10  # fewer cases than this on one side (holds or fails): too few to find a box around
MIN_REPLICATES = 10  # replicates per draw: every draw shares the same replicate seeds, so few of them shift all
RESAMPLES = 50  # bootstrap resamples of the draws


def minimum_samples(inputs: int) -> int:
    """The fewest draws a box over ``inputs`` uncertain inputs should rest on: `DRAWS_PER_INPUT` per input,
    at least `MIN_SAMPLES`."""
    return max(MIN_SAMPLES, DRAWS_PER_INPUT * int(inputs))


# ---------------------------------------------------------------------------------------------------------
# warnings about the sample, as data: a key and its words in English and Chinese
# ---------------------------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Caveat:
    """A warning about a discovery: ``key`` names the kind; ``en`` and ``zh`` say it."""

    key: str
    en: str
    zh: str

    def text(self, lang: str = "en") -> str:
        return self.zh if lang == "zh" else self.en


def sample_caveats(samples: int, inputs: int, holds: int, replicates: int | None = None) -> list[Caveat]:
    """What is wrong with a sample of ``samples`` draws over ``inputs`` inputs where the target holds in
    ``holds``: too few draws; a target that holds in nearly none or nearly all of them; too few ``replicates``
    per draw (every draw shares the same replicate seeds, so a few lucky or unlucky replicates move every draw's
    figure the same way: on the plan-capacity scenario, revenue_1000 holds in 72% of 120 draws with 2
    replicates each and in 13% of 1,000 draws with 10)."""
    out = []
    if replicates is not None and replicates < MIN_REPLICATES:
        out.append(
            Caveat(
                "few_replicates",
                f"Each draw's figures are the mean of only {replicates} replicate(s), the same replicate seeds for "
                f"every draw: their luck moves every draw the same way. Use at least {MIN_REPLICATES}.",
                f"每个情景的结果仅为 {replicates} 次模拟的平均值，且各情景使用同一组随机种子：这几次模拟的偶然性"
                f"会使所有情景同向偏移。请至少使用 {MIN_REPLICATES} 次。",
            )
        )
    needed = minimum_samples(inputs)
    if samples < needed:
        out.append(
            Caveat(
                "few_samples",
                f"Only {samples:,} draws over {inputs} uncertain inputs: a box needs at least {needed:,} "
                f"({DRAWS_PER_INPUT} per input, at least {MIN_SAMPLES}). With fewer, limits that fit by chance "
                "look as good as real ones; read the box as a first look and draw more.",
                f"仅抽取 {samples:,} 个情景，却有 {inputs} 个不确定因素：至少需要 {needed:,} 个"
                f"（每个因素 {DRAWS_PER_INPUT} 个，且不少于 {MIN_SAMPLES} 个）。样本太少时，偶然吻合的界限"
                "与真实界限难以区分；结果仅供初步参考，请增加抽样。",
            )
        )
    fails = samples - holds
    if samples and min(holds, fails) < MIN_MINORITY:
        nearly = "none" if holds <= fails else "all"
        out.append(
            Caveat(
                f"target_{nearly}",
                f"The target holds in {holds:,} of {samples:,} draws, nearly {nearly} of them: with fewer than "
                f"{MIN_MINORITY} draws on one side there is little to discover. Ask a "
                f"{'less' if nearly == 'none' else 'more'} demanding target, or widen the ranges.",
                f"目标在 {samples:,} 个情景中的 {holds:,} 个实现，"
                f"{'几乎从未实现' if nearly == 'none' else '几乎总能实现'}：一侧不足 {MIN_MINORITY} 个情景，"
                f"可发现的信息很少。请换一个{'较易' if nearly == 'none' else '较难'}的目标，或放宽抽样范围。",
            )
        )
    return out


# ---------------------------------------------------------------------------------------------------------
# significance of each limit
# ---------------------------------------------------------------------------------------------------------
def _inside(values: np.ndarray, limits: np.ndarray) -> np.ndarray:
    return np.all((values >= limits[0]) & (values <= limits[1]), axis=1)


def quasi_p_values(values: np.ndarray, y: np.ndarray, limits: np.ndarray, ranges: np.ndarray) -> pd.DataFrame:
    """The quasi-p value of every restricted limit of a box (Bryant and Lempert 2010).

    Args:
        values: the draws, (samples x inputs).
        y: whether the target holds in each draw.
        limits: the box, (lower, upper) x inputs.
        ranges: the sampled ranges, (lower, upper) x inputs.

    Returns:
        A row per restricted limit: input (its column), side (0 lower, 1 upper), limit, and p_value:
        ``P(Binomial(T, p) >= H)`` with ``H`` of ``T`` draws in the box holding the target and ``p`` the
        density of the box with that limit lifted.
    """
    mask = _inside(values, limits)
    total, cases = int(mask.sum()), int(y[mask].sum())
    rows = []
    for j in range(values.shape[1]):
        for side in (0, 1):
            if limits[side, j] == ranges[side, j]:
                continue
            lifted = limits.copy()
            lifted[side, j] = ranges[side, j]
            wider = _inside(values, lifted)
            p = float(y[wider].mean())
            p_value = binomtest(cases, total, p, alternative="greater").pvalue if total else 1.0
            rows.append({"input": j, "side": side, "limit": float(limits[side, j]), "p_value": float(p_value)})
    return pd.DataFrame(rows, columns=["input", "side", "limit", "p_value"])


def significant_limits(
    values: np.ndarray, y: np.ndarray, limits: np.ndarray, ranges: np.ndarray, alpha: float = ALPHA
) -> tuple[np.ndarray, pd.DataFrame, pd.DataFrame]:
    """Lift, one at a time, the limit with the largest quasi-p value at or above ``alpha`` until every limit
    left passes.

    Returns:
        The pruned limits; the quasi-p values of the limits kept (as `quasi_p_values`, on the pruned box);
        and the limits lifted, in the order they were, with the p-value each had when it was.
    """
    limits = limits.copy()
    lifted = []
    while True:
        table = quasi_p_values(values, y, limits, ranges)
        if table.empty or table["p_value"].max() < alpha:
            return limits, table, pd.DataFrame(lifted, columns=["input", "side", "limit", "p_value"])
        worst = table.loc[table["p_value"].idxmax()]
        lifted.append(worst.to_dict())
        limits[int(worst["side"]), int(worst["input"])] = ranges[int(worst["side"]), int(worst["input"])]


# ---------------------------------------------------------------------------------------------------------
# the reported box and its stability
# ---------------------------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True, eq=False)
class SureBox:
    """A PRIM box with only its significant limits, and how it fares over bootstrap resamples.

    Attributes:
        result: the PRIM result with the reported (pruned) box chosen: ``result.box()``, ``chosen_stats``,
            `sim.discovery.prim.describe_box` and the report's charts all show the reported box.
        peeled: the PRIM result as peeled (and pasted), before pruning.
        p_values: per limit kept: dimension, side ("lower"/"upper"), limit, p_value.
        dropped: per limit lifted: dimension, side, limit, p_value (when it was lifted).
        resamples: per bootstrap resample: the reported box's coverage and density on it; the coverage and
            density out of bag of the box PRIM found on it (NaN when it found none or left no draw out);
            and n_restricted of that box.
        reproduced: per input, the share of resamples whose box restricts it.
        alpha: the significance level.
    """

    result: PrimResult
    peeled: PrimResult
    p_values: pd.DataFrame
    dropped: pd.DataFrame
    resamples: pd.DataFrame
    reproduced: pd.Series
    alpha: float

    @property
    def dropped_inputs(self) -> list[str]:
        """Inputs the peeled box restricted and the reported box does not."""
        before = set(self.peeled.box().query("restricted")["dimension"])
        after = set(self.result.box().query("restricted")["dimension"])
        return [name for name in self.result.inputs if name in before - after]

    def interval(self, column: str, low: float = 0.05, high: float = 0.95) -> tuple[float, float, float]:
        """(median, low quantile, high quantile) of a column of `resamples`, ignoring NaN."""
        values = self.resamples[column].dropna().to_numpy()
        if values.size == 0:
            return (math.nan, math.nan, math.nan)
        return tuple(float(v) for v in np.quantile(values, [0.5, low, high]))  # type: ignore[return-value]

    def summary(self) -> dict[str, object]:
        """The figures explore.json keeps: each interval, the p-values, the inputs dropped, reproduction."""
        out: dict[str, object] = {}
        for column in self.resamples.columns:
            if column == "n_restricted":
                continue
            median, low, high = self.interval(column)
            out[column] = {"median": median, "p05": low, "p95": high}
        out["resamples"] = len(self.resamples)
        out["alpha"] = self.alpha
        out["p_values"] = self.p_values.to_dict("records")
        out["dropped"] = self.dropped.to_dict("records")
        out["restricted_in_resamples"] = {k: float(v) for k, v in self.reproduced.items()}
        return out


def _named(table: pd.DataFrame, names: list[str]) -> pd.DataFrame:
    if table.empty:
        return pd.DataFrame(columns=["dimension", "side", "limit", "p_value"])
    return pd.DataFrame(
        {
            "dimension": [names[int(j)] for j in table["input"]],
            "side": ["lower" if int(s) == 0 else "upper" for s in table["side"]],
            "limit": table["limit"].astype(float),
            "p_value": table["p_value"].astype(float),
        }
    )


def _pruned(result: PrimResult, alpha: float) -> tuple[PrimResult, pd.DataFrame, pd.DataFrame]:
    values, y, ranges = result._values, result._y, result._ranges
    limits, kept, lifted = significant_limits(values, y, result.chosen_box.to_numpy(), ranges, alpha)
    if lifted.empty:
        return result, kept, lifted
    names = result.inputs
    rule = (
        f"{result.rule}; limits whose quasi-p value was {alpha:g} or more were lifted "
        f"({', '.join(names[int(j)] + (' lower' if int(s) == 0 else ' upper') for j, s in zip(lifted['input'], lifted['side'], strict=True))})"  # noqa: E501
    )
    return result.with_box(limits, rule), kept, lifted


def sure_box(
    x: pd.DataFrame,
    y: np.ndarray,
    *,
    seed: int | np.random.SeedSequence | None = 0,
    resamples: int = RESAMPLES,
    alpha: float = ALPHA,
    **prim_options: float,
) -> SureBox:
    """PRIM on ``x`` and ``y``, the box pruned to its significant limits, and its bootstrap resamples.

    Args:
        x: the draws' inputs (a numeric column per input).
        y: whether the target holds in each draw.
        seed: seeds the bootstrap resamples (the same seed, the same resamples).
        resamples: bootstrap resamples (0: none).
        alpha: significance level of the quasi-p test.
        **prim_options: passed to `sim.discovery.prim.prim` (``peel_alpha``, ``paste_alpha``, ...).
    """
    peeled = prim(x, y, **prim_options)
    result, kept, lifted = _pruned(peeled, alpha)
    names = result.inputs
    values = result._values
    limits = result.chosen_box.to_numpy()
    rng = np.random.default_rng(seed)
    rows, restricted = [], np.zeros(len(names))
    n = len(y)
    for _ in range(resamples):
        index = rng.integers(0, n, size=n)
        out_of_bag = np.ones(n, dtype=bool)
        out_of_bag[index] = False
        xb, yb = values[index], y[index]
        inside = _inside(xb, limits)
        row = {
            "coverage": float(yb[inside].sum() / yb.sum()) if yb.any() else math.nan,
            "density": float(yb[inside].mean()) if inside.any() else math.nan,
            "coverage_out_of_bag": math.nan,
            "density_out_of_bag": math.nan,
            "n_restricted": 0,
        }
        if yb.any() and not yb.all():
            found, _, _ = _pruned(prim(pd.DataFrame(xb, columns=names), yb, **prim_options), alpha)
            box = found.chosen_box.to_numpy()
            cut = (box[0] > found._ranges[0]) | (box[1] < found._ranges[1])
            restricted += cut
            row["n_restricted"] = int(cut.sum())
            held_out, cases = _inside(values[out_of_bag], box), y[out_of_bag]
            if cases.any():
                row["coverage_out_of_bag"] = float(cases[held_out].sum() / cases.sum())
            if held_out.any():
                row["density_out_of_bag"] = float(cases[held_out].mean())
        rows.append(row)
    columns = ["coverage", "density", "coverage_out_of_bag", "density_out_of_bag", "n_restricted"]
    return SureBox(
        result=result,
        peeled=peeled,
        p_values=_named(kept, names),
        dropped=_named(lifted, names),
        resamples=pd.DataFrame(rows, columns=columns),
        reproduced=pd.Series(restricted / max(resamples, 1), index=names, name="restricted_in_resamples"),
        alpha=alpha,
    )
