"""PRIM, the patient rule induction method (Friedman and Fisher 1999), and Latin hypercube samples for it.

Scenario discovery (Bryant and Lempert 2010) asks which ranges of the uncertain inputs make a target hold.
PRIM answers with a box: a lower and an upper limit per input. It starts from the box holding every sample
and peels: at each step it removes, from one end of one input, the ``peel_alpha`` share of the samples still
inside that leaves the highest share of target cases (density) in the box. Every step is kept, so the
analyst sees the trade-off between density and the share of all target cases the box still holds (coverage),
and a step is chosen on that trajectory (`PrimResult.select`). Pasting then widens the chosen box's limits
again where that raises its density.

Inputs are numeric columns (continuous or integer; booleans count as 0/1); categorical inputs are not
supported. Limits are sample values and boxes are closed: a sample is inside when
``lower <= value <= upper`` on every input. Pure numpy/pandas (and `scipy.stats.qmc` for the samples).
"""

from __future__ import annotations

import dataclasses
import inspect
import math
from collections.abc import Iterable, Mapping
from fractions import Fraction

import numpy as np
import pandas as pd
from scipy.stats import qmc

# scipy 1.15 renamed the engines' `seed` argument `rng` and will deprecate `seed`; the project allows 1.11+
_RNG_KEYWORD = "rng" if "rng" in inspect.signature(qmc.LatinHypercube).parameters else "seed"


@dataclasses.dataclass(frozen=True, eq=False)
class PrimResult:
    """The peeling trajectory of one PRIM box and the step chosen on it.

    Attributes:
        trajectory: a row per peeling step: step, coverage (share of all target cases inside the box),
            density (share of target cases among the samples inside), support (share of all samples inside;
            Friedman and Fisher's box mass), mass (number of samples inside), n_restricted (inputs whose
            limits are narrower than their sampled range), then ``<input>_lower`` and ``<input>_upper``.
        boxes: the limits of every step: a DataFrame with rows "lower" and "upper" and a column per input.
        chosen: the step chosen on the trajectory (`select`).
        chosen_box: the chosen step's limits after pasting (those of ``boxes[chosen]`` when nothing pastes).
        chosen_stats: coverage, density, support, mass and n_restricted of ``chosen_box``.
        threshold: the density the default choice looks for (None: the knee).
        paste_alpha: the share of the box's samples pasting adds per step (0: no pasting).
        rule: how the chosen step was chosen, in words.
    """

    trajectory: pd.DataFrame
    boxes: list[pd.DataFrame]
    chosen: int
    chosen_box: pd.DataFrame
    chosen_stats: dict[str, float]
    threshold: float | None
    paste_alpha: float
    rule: str
    _values: np.ndarray = dataclasses.field(repr=False)
    _y: np.ndarray = dataclasses.field(repr=False)
    _ranges: np.ndarray = dataclasses.field(repr=False)

    @property
    def inputs(self) -> list[str]:
        """The input names, in column order."""
        return list(self.boxes[0].columns)

    @property
    def meets_threshold(self) -> bool:
        """Whether the chosen box reaches ``threshold`` (True when there is none)."""
        return self.threshold is None or bool(self.chosen_stats["density"] >= self.threshold)

    def box(self, i: int | None = None) -> pd.DataFrame:
        """The limits of step ``i`` (default: the chosen box, pasted), a row per input.

        Columns: dimension, lower, upper, restricted (limits narrower than the sampled range) and the sampled
        range, range_lower and range_upper.
        """
        limits = self.chosen_box if i is None else self.boxes[i]
        lower, upper = limits.loc["lower"].to_numpy(), limits.loc["upper"].to_numpy()
        restricted = (lower > self._ranges[0]) | (upper < self._ranges[1])
        return pd.DataFrame(
            {"dimension": self.inputs, "lower": lower, "upper": upper, "restricted": restricted,
             "range_lower": self._ranges[0], "range_upper": self._ranges[1]}
        )  # fmt: skip

    def select(self, index: int | None = None, *, min_density: float | None = None) -> PrimResult:
        """The same trajectory with another step chosen (and pasted).

        Args:
            index: the step to choose.
            min_density: choose the first step (the one with the most coverage) whose density reaches this.

        With neither, the default rule: the first step reaching ``threshold`` when one was given and some step
        reaches it, otherwise the knee: the step with the largest coverage x density. Going from a step to the
        next multiplies coverage by (1 - relative coverage lost) and density by (1 + relative density gained),
        so the knee is where a peel stops gaining more density, relatively, than it loses coverage: peels that
        cut off mostly non-cases pay, peels that cut into the cases do not.
        """
        if index is not None and min_density is not None:
            raise ValueError("give either index or min_density, not both")
        steps = len(self.boxes)
        if index is not None:
            if not -steps <= index < steps:
                raise IndexError(f"step {index} is not on the trajectory (steps 0 to {steps - 1})")
            chosen = index % steps
            rule = "the step asked for"
        elif min_density is not None:
            reaching = np.flatnonzero(self.trajectory["density"].to_numpy() >= min_density)
            if reaching.size == 0:
                best = self.trajectory["density"].max()
                raise ValueError(f"no step reaches density {min_density:g} (the highest is {best:.3f})")
            chosen = int(reaching[0])
            rule = f"the first step whose density reaches {min_density:g}"
        else:
            chosen, rule = _default_step(self.trajectory, self.threshold)
        pasted = _paste(self._values, self._y, self.boxes[chosen].to_numpy(), self.paste_alpha)
        return dataclasses.replace(
            self,
            chosen=chosen,
            rule=rule,
            chosen_box=pd.DataFrame(pasted, index=["lower", "upper"], columns=self.inputs),
            chosen_stats=_stats(_inside(self._values, pasted), self._y, pasted, self._ranges),
        )

    def with_box(self, limits: np.ndarray, rule: str) -> PrimResult:
        """The same trajectory with ``limits`` ((lower, upper) x inputs) as the chosen box, e.g. after limits
        that fail a significance test were lifted (`sim.discovery.confidence`); ``rule`` says how."""
        limits = np.asarray(limits, dtype=float)
        return dataclasses.replace(
            self,
            rule=rule,
            chosen_box=pd.DataFrame(limits, index=["lower", "upper"], columns=self.inputs),
            chosen_stats=_stats(_inside(self._values, limits), self._y, limits, self._ranges),
        )

    def importance(self) -> pd.Series:
        """How much density the chosen box loses when one restricted input's limits are widened to its sampled
        range, per restricted input, largest first (the inputs that matter most for the box)."""
        limits = self.chosen_box.to_numpy()
        density = self.chosen_stats["density"]
        loss = {}
        for j, name in enumerate(self.inputs):
            if limits[0, j] > self._ranges[0, j] or limits[1, j] < self._ranges[1, j]:
                lifted = limits.copy()
                lifted[:, j] = self._ranges[:, j]
                loss[name] = density - self._y[_inside(self._values, lifted)].mean()
        return pd.Series(loss, dtype=float, name="density_lost").sort_values(ascending=False, kind="stable")

    def inside(self, x: pd.DataFrame, i: int | None = None) -> np.ndarray:
        """Boolean mask of the rows of ``x`` inside the box of step ``i`` (default: the chosen box, pasted)."""
        limits = self.chosen_box if i is None else self.boxes[i]
        return _inside(x[self.inputs].to_numpy(dtype=float), limits.to_numpy())


def prim(
    x: pd.DataFrame,
    y: np.ndarray,
    *,
    peel_alpha: float = 0.05,
    paste_alpha: float = 0.05,
    min_support: float = 0.05,
    threshold: float | None = None,
) -> PrimResult:
    """Peel a box around the samples where ``y`` holds, and choose a step on the trajectory.

    Args:
        x: the inputs, a numeric column per input (no missing values).
        y: whether the target holds in each sample (booleans, as many as the rows of ``x``).
        peel_alpha: share of the samples inside the box that one peel removes (at least one sample).
        paste_alpha: share of the samples inside the chosen box that one paste adds (0: no pasting).
        min_support: peeling stops before the box would hold less than this share of all samples.
        threshold: if given, the default choice is the first step whose density reaches it (see `select`).

    Peeling stops when no peel raises the density or every peel would leave less than ``min_support``. Among
    peels leaving the same density the one removing fewer samples wins, then the first input, lower end first.
    """
    values, target = _check(x, y)
    for name, share in (("peel_alpha", peel_alpha), ("min_support", min_support)):
        if not 0 < share < 1:
            raise ValueError(f"{name} must be between 0 and 1, got {share}")
    if not 0 <= paste_alpha < 1:
        raise ValueError(f"paste_alpha must be between 0 (no pasting) and 1, got {paste_alpha}")
    ranges = np.vstack([values.min(axis=0), values.max(axis=0)])
    limits, mask = ranges.copy(), np.ones(len(target), dtype=bool)
    boxes, rows = [limits.copy()], [_stats(mask, target, limits, ranges)]
    while (peel := _best_peel(values[mask], target[mask], peel_alpha, min_support * len(target))) is not None:
        side, dim, limit, keep = peel
        limits[side, dim] = limit
        mask[np.flatnonzero(mask)[~keep]] = False
        boxes.append(limits.copy())
        rows.append(_stats(mask, target, limits, ranges))
    names = list(x.columns)
    trajectory = pd.DataFrame(rows)
    trajectory.insert(0, "step", np.arange(len(rows)))
    bounds = np.array(boxes)  # steps x (lower, upper) x inputs
    for j, name in enumerate(names):
        trajectory[f"{name}_lower"] = bounds[:, 0, j]
        trajectory[f"{name}_upper"] = bounds[:, 1, j]
    frames = [pd.DataFrame(b, index=["lower", "upper"], columns=names) for b in boxes]
    result = PrimResult(trajectory, frames, 0, frames[0], rows[0], threshold, paste_alpha, "", values, target, ranges)
    return result.select()


def _check(x: pd.DataFrame, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if not isinstance(x, pd.DataFrame) or x.shape[1] == 0 or len(x) == 0:
        raise ValueError("x must be a DataFrame with at least one input column and one row")
    if not x.columns.is_unique:
        raise ValueError("input names must be distinct")
    other = [c for c in x.columns if not pd.api.types.is_numeric_dtype(x[c])]
    if other:
        raise TypeError(f"inputs must be numeric (categorical inputs are not supported): {', '.join(map(str, other))}")
    values = x.to_numpy(dtype=float)
    if not np.isfinite(values).all():
        raise ValueError("inputs must be finite (no missing values)")
    target = np.asarray(y)
    if target.dtype != bool or target.shape != (len(x),):
        raise ValueError(f"y must be a boolean array of length {len(x)}")
    if not target.any():
        raise ValueError("the target holds in no sample: there is no box to find")
    return values, target


def _inside(values: np.ndarray, limits: np.ndarray) -> np.ndarray:
    return np.all((values >= limits[0]) & (values <= limits[1]), axis=1)


def _stats(mask: np.ndarray, y: np.ndarray, limits: np.ndarray, ranges: np.ndarray) -> dict:
    inside, cases = int(mask.sum()), int(y[mask].sum())
    return {
        "coverage": cases / int(y.sum()),
        "density": cases / inside if inside else math.nan,
        "support": inside / len(y),
        "mass": inside,
        "n_restricted": int(((limits[0] > ranges[0]) | (limits[1] < ranges[1])).sum()),
    }


def _peel_limits(values: np.ndarray, alpha: float) -> tuple[float | None, float | None]:
    """The limits that peel ``alpha`` of ``values`` off the bottom and off the top (None: nothing to peel).

    With ties at the cut (integer inputs), the cut moves to the next distinct value, so a peel removes at
    least one sample but may remove more or fewer than ``alpha``.
    """
    ordered = np.sort(values)
    n = ordered.size
    k = max(1, math.floor(alpha * n))
    if k >= n or ordered[0] == ordered[-1]:
        return None, None
    lower, upper = ordered[k], ordered[n - 1 - k]
    if lower == ordered[0]:
        lower = ordered[np.searchsorted(ordered, ordered[0], side="right")]
    if upper == ordered[-1]:
        upper = ordered[np.searchsorted(ordered, ordered[-1], side="left") - 1]
    return float(lower), float(upper)


def _best_peel(values: np.ndarray, y: np.ndarray, alpha: float, min_inside: float):
    """The peel of the box holding ``values`` that leaves the highest density, if it raises the density."""
    current = Fraction(int(y.sum()), len(y))
    best, best_key = None, (current, 0)
    for dim in range(values.shape[1]):
        column = values[:, dim]
        for side, limit in enumerate(_peel_limits(column, alpha)):
            if limit is None:
                continue
            keep = column >= limit if side == 0 else column <= limit
            inside = int(keep.sum())
            if inside < min_inside:
                continue
            key = (Fraction(int(y[keep].sum()), inside), inside)
            if key[0] > current and key > best_key:
                best, best_key = (side, dim, limit, keep), key
    return best


def _paste(values: np.ndarray, y: np.ndarray, limits: np.ndarray, alpha: float) -> np.ndarray:
    """Widen the limits, one end at a time, while that raises the density of the box."""
    limits = limits.copy()
    while alpha > 0:
        within = (values >= limits[0]) & (values <= limits[1])
        mask = within.all(axis=1)
        cases, inside = int(y[mask].sum()), int(mask.sum())
        step = max(1, math.floor(alpha * inside))
        best, best_density = None, Fraction(cases, inside)
        for dim in range(values.shape[1]):
            # samples kept out of the box by this input alone
            outside_here = ~within[:, dim] & (within.sum(axis=1) == values.shape[1] - 1)
            for side in (0, 1):
                beyond = outside_here & (
                    values[:, dim] < limits[0, dim] if side == 0 else values[:, dim] > limits[1, dim]
                )
                if not beyond.any():
                    continue
                nearest = np.sort(values[beyond, dim])
                limit = nearest[-min(step, nearest.size)] if side == 0 else nearest[min(step, nearest.size) - 1]
                added = beyond & (values[:, dim] >= limit if side == 0 else values[:, dim] <= limit)
                density = Fraction(cases + int(y[added].sum()), inside + int(added.sum()))
                if density > best_density:
                    best, best_density = (side, dim, limit), density
        if best is None:
            break
        limits[best[0], best[1]] = best[2]
    return limits


def _default_step(trajectory: pd.DataFrame, threshold: float | None) -> tuple[int, str]:
    knee = "the knee of the trajectory, the step with the largest coverage × density"
    if threshold is not None:
        reaching = np.flatnonzero(trajectory["density"].to_numpy() >= threshold)
        if reaching.size:
            return int(reaching[0]), f"the first step whose density reaches the threshold {threshold:g}"
        knee += f" (no step reaches the threshold density {threshold:g})"
    return int(np.argmax(trajectory["coverage"].to_numpy() * trajectory["density"].to_numpy())), knee


# ---------------------------------------------------------------------------------------------------------
# a box in words
# ---------------------------------------------------------------------------------------------------------
WORDING = {
    "en": {"between": "{label} between {lower} and {upper}", "at_least": "{label} at least {lower}",
           "at_most": "{label} at most {upper}", "join": "; ", "none": "no restriction (the whole sampled space)",
           "unit_space": " "},
    "zh": {"between": "{label}介于{lower}与{upper}之间", "at_least": "{label}不低于{lower}",
           "at_most": "{label}不高于{upper}", "join": "；", "none": "无限制（整个抽样空间）", "unit_space": ""},
}  # fmt: skip


def readable_number(value: float, unit: str = "") -> str:
    """A number for prose: thousands separated, three significant digits; a fraction in percent if unit starts with %.

    >>> readable_number(62345.0), readable_number(0.0912, "%/yr"), readable_number(1.5)
    ('62,300', '9.12', '1.5')
    """
    if unit.startswith("%"):
        value = value * 100
    if value == 0 or not math.isfinite(value):
        return f"{value:g}"
    digits = 2 - math.floor(math.log10(abs(value)))
    rounded = round(value, digits)
    if abs(rounded) >= 1000:
        return f"{rounded:,.0f}"
    return f"{rounded:.{max(digits, 0)}f}".rstrip("0").rstrip(".") if digits > 0 else f"{rounded:.0f}"


def describe_box(
    box: pd.DataFrame,
    labels: Mapping[str, str] | None = None,
    units: Mapping[str, str] | None = None,
    *,
    lang: str = "en",
) -> str:
    """The restricted limits of a box (as `PrimResult.box` gives it) in words, e.g. for a Markdown report.

    Args:
        box: rows of dimension, lower, upper, range_lower, range_upper (as `PrimResult.box` gives them).
        labels: a readable name per input (default: the input name).
        units: a unit per input; one starting with "%" shows a fraction in percent (0.09 -> 9%/yr).
        lang: "en" or "zh".

    >>> box = pd.DataFrame({"dimension": ["price", "growth"], "lower": [62000.0, 0.09], "upper": [95000.0, 0.3],
    ...                     "range_lower": [40000.0, 0.0], "range_upper": [150000.0, 0.3]})
    >>> describe_box(box, {"price": "carbonate price"}, {"price": "yuan/t", "growth": "%/yr"})
    'carbonate price between 62,000 and 95,000 yuan/t; growth at least 9%/yr'
    """
    if lang not in WORDING:
        raise ValueError(f"unknown language {lang!r}; choose one of {', '.join(WORDING)}")
    words, labels, units = WORDING[lang], labels or {}, units or {}
    parts = []
    for row in box.itertuples(index=False):
        cut_lower, cut_upper = row.lower > row.range_lower, row.upper < row.range_upper
        if not (cut_lower or cut_upper):
            continue
        unit = units.get(row.dimension, "")
        suffix = unit if unit.startswith("%") or not unit else words["unit_space"] + unit
        form = "between" if cut_lower and cut_upper else "at_least" if cut_lower else "at_most"
        parts.append(
            words[form].format(
                label=labels.get(row.dimension, row.dimension),
                lower=readable_number(row.lower, unit) + ("" if form == "between" else suffix),
                upper=readable_number(row.upper, unit) + suffix,
            )
        )
    return words["join"].join(parts) if parts else words["none"]


# ---------------------------------------------------------------------------------------------------------
# samples
# ---------------------------------------------------------------------------------------------------------
def latin_hypercube(
    bounds: Mapping[str, tuple[float, float]],
    n: int,
    seed: int | np.random.SeedSequence | np.random.Generator | None,
    *,
    integers: Iterable[str] = (),
) -> pd.DataFrame:
    """``n`` samples of the inputs, a Latin hypercube scaled to ``bounds``: each input's range cut into ``n``
    equal strata holds exactly one sample.

    Args:
        bounds: (lower, upper) per input, lower < upper.
        n: number of samples.
        seed: an integer, a `numpy.random.SeedSequence` or a `numpy.random.Generator` (drawn from).
        integers: inputs that take whole numbers: each of lower, lower + 1, ..., upper comes up equally often
            (their strata are then whole numbers rather than ``n`` equal slices).
    """
    names, whole = list(bounds), set(integers)
    if not names or n < 1:
        raise ValueError("need at least one input and one sample")
    if unknown := whole - set(names):
        raise ValueError(f"integer inputs without bounds: {', '.join(sorted(unknown))}")
    lower = np.array([float(bounds[k][0]) for k in names])
    upper = np.array([float(bounds[k][1]) for k in names])
    if not (np.isfinite(lower).all() and np.isfinite(upper).all() and (lower < upper).all()):
        raise ValueError("every input needs finite bounds with lower < upper")
    is_int = np.array([k in whole for k in names])
    if (is_int & ((lower != np.round(lower)) | (upper != np.round(upper)))).any():
        raise ValueError("integer inputs need whole-number bounds")
    engine = qmc.LatinHypercube(d=len(names), **{_RNG_KEYWORD: np.random.default_rng(seed)})
    unit = engine.random(n)
    # whole numbers: the unit interval cut into upper - lower + 1 equal parts, one per value
    values = np.where(
        is_int,
        np.minimum(lower + np.floor(unit * (upper - lower + 1)), upper),
        lower + unit * (upper - lower),
    )
    frame = pd.DataFrame(values, columns=names)
    return frame.astype({k: "int64" for k in names if k in whole})
