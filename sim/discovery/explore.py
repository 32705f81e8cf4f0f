"""Scenario discovery over a scenario: draw its uncertain inputs, run every draw, find where a target holds.

``lithium-sim explore SCENARIO.toml --target EXPR --samples N`` (and the workbench's discovery tab) come here:

1. the uncertain inputs are declared once, below (`UncertainInput`: name, labels in English and Chinese,
   unit, sampled range, the reason for the range, and how a value changes a scenario through
   `sim.api.override`); a new uncertain input is one more declaration;
2. ``N`` scenarios are drawn with a Latin hypercube over their ranges (`sim.discovery.prim.latin_hypercube`);
3. each draw runs with a few replicates (the same replicate seeds for every draw: common random numbers, so
   two draws differ by their inputs, not by luck), on local worker processes (`sim.api.Executor`), up to the
   last year the target names only;
4. the target (`parse_target`: ``METRIC[region,segment,year] OP NUMBER``, clauses joined by ``and``) is
   evaluated on each draw's mean over its replicates;
5. PRIM (`sim.discovery.prim.prim`) finds the box of inputs where the target holds, and the box where it
   fails; `sim.discovery.confidence` keeps only the limits that pass a significance test and runs PRIM again
   on bootstrap resamples of the draws (how much the box's coverage and density move, and how it fares on
   draws it did not see), and warns when the draws are too few for the inputs or the target holds in nearly
   none or nearly all of them;
6. each box is written by `sim.discovery.report.write_report`, beside ``samples.csv`` and ``SUMMARY.md``,
   into a directory written atomically (`sim.api.write_directory`).

Draws are built and run a chunk at a time (`CHUNK_PER_WORKER` per worker process; the workers stay up for the
whole exploration), and of each draw only its inputs and the target's figures are kept: memory does not grow
with the number of draws beyond those few numbers each.

The target grammar is parsed, never evaluated as code: metrics, regions and segments must be in
`sim.api.metric_catalogue()` and years in the scenario's run.
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.api import (
    BASE_YEAR,
    LEVERS,
    Executor,
    InputError,
    Scenario,
    code_version,
    month_index,
    month_label,
    override,
    say,
    simulate_metrics,
    write_directory,
)
from sim.discovery.confidence import Caveat, SureBox, sample_caveats, sure_box
from sim.discovery.prim import PrimResult, describe_box, latin_hypercube, readable_number
from sim.discovery.report import REPORT_FILES, write_report
from sim.discovery.targets import DEFAULT_REPLICATES, DEFAULT_SAMPLES, MAX_SAMPLES, Clause, Target, parse_target

HISTORY_END_YEAR = 2025  # the last year of data in the library's scenarios: uncertainty acts after it
FUTURE_FROM = f"{HISTORY_END_YEAR + 1}-01"  # the first month a sampled lever acts, unless the scenario sets one
CHUNK_PER_WORKER = 16  # draws built and handed out at a time, per worker process
EXPLORE_FILES = ("explore.json", "samples.csv")  # what marks an explore directory
EXPLORE_OWNED = (
    "explore.json",
    "samples.csv",
    "SUMMARY.md",
    *(f"{side}/{name}" for side in ("holds", "fails") for name in REPORT_FILES),
)


# ---------------------------------------------------------------------------------------------------------
# the uncertain inputs, declared once
# ---------------------------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class UncertainInput:
    """An input whose value is uncertain, and how a value of it changes a scenario.

    Attributes:
        name: the column name in samples.csv and the PRIM box.
        label_en, label_zh: short labels.
        unit: the unit of a value; one starting with "%" means the value is a fraction shown in percent.
        low, high: the sampled range (plausible values, within what the scenario schema allows).
        reason: why this range.
        apply: ``apply(scenario, value) -> scenario``, through `sim.api.override` (checked by the declarations).
        current: the scenario's own value (the workbench's default), or None when it has none.
        applies: whether the input means anything for a scenario (e.g. the price path in path mode only).
        integer: whole numbers only.
        unit_zh: the unit in Chinese (default: ``unit``).
    """

    name: str
    label_en: str
    label_zh: str
    unit: str
    low: float
    high: float
    reason: str
    apply: Callable[[Scenario, float], Scenario]
    current: Callable[[Scenario], float] | None = None
    applies: Callable[[Scenario], bool] = lambda scenario: True
    integer: bool = False
    unit_zh: str = ""

    def __post_init__(self) -> None:
        if not (math.isfinite(self.low) and math.isfinite(self.high) and self.low < self.high):
            raise ValueError(f"uncertain input {self.name}: needs finite low < high, got {self.low}, {self.high}")

    def label(self, lang: str = "en") -> str:
        return self.label_zh if lang == "zh" and self.label_zh else self.label_en

    def unit_in(self, lang: str = "en") -> str:
        return self.unit_zh if lang == "zh" and self.unit_zh else self.unit

    def value_in(self, scenario: Scenario) -> float | None:
        return None if self.current is None else float(self.current(scenario))


def _path_mode(scenario: Scenario) -> bool:
    return scenario.price_mode == "path"


def _price_level(scenario: Scenario, value: float) -> Scenario:
    return override(scenario, price_after="revert", price_revert_level=float(value))


def _current_price_level(scenario: Scenario) -> float:
    return scenario.price_revert_level if scenario.price_after == "revert" else scenario.carbonate_points[-1][1]


def _volatility(scenario: Scenario, value: float) -> Scenario:
    return override(scenario, volatility=float(value))


GROWTH_LIMITS = (-0.9, 2.0)  # the scenario schema's bounds on a growth rate (demand.*.growth)


def scaled_demand(scenario: Scenario, multiplier: float) -> tuple[dict[int, float], dict[int, float]]:
    """Battery-demand levels and growth rates with every yearly growth rate after `HISTORY_END_YEAR` times
    ``multiplier`` (levels through that year kept; rates within the schema's bounds)."""
    years = scenario.years
    series = scenario.annual_series(scenario.battery_levels, scenario.battery_growth, interpolate=False)
    levels = {y: v for y, v in scenario.battery_levels.items() if y <= HISTORY_END_YEAR}
    growth = {y: g for y, g in scenario.battery_growth.items() if y <= HISTORY_END_YEAR}
    for i, year in enumerate(years):
        if year > HISTORY_END_YEAR and i > 0:
            base = series[i] / series[i - 1] - 1.0 if series[i - 1] > 0 else 0.0
            growth[year] = float(np.clip(base * multiplier, *GROWTH_LIMITS))
    return levels, growth


def _demand_growth(scenario: Scenario, value: float) -> Scenario:
    levels, growth = scaled_demand(scenario, float(value))
    return override(scenario, battery_levels=levels, battery_growth=dict(sorted(growth.items())))


def _lever_start(scenario: Scenario, lever: str) -> str:
    """The month a sampled lever acts from: the scenario's own start when it sets the lever, else `FUTURE_FROM`."""
    if lever in scenario.policy.settings:
        return month_label(scenario.policy.start(lever))
    return FUTURE_FROM if month_index(FUTURE_FROM) <= scenario.end_month else month_label(0)


def lever_input(lever: str, field: str, low: float, high: float, reason: str) -> UncertainInput:
    """An uncertain lever strength: labels and unit from the lever's declaration (`sim.api.LEVERS`), a sampled
    range that must lie within the declared one. A yearly field takes the value in every year after the
    history (earlier years keep the scenario's)."""
    decl_lever = next((lv for lv in LEVERS if lv.name == lever), None)
    if decl_lever is None:
        raise ValueError(f"no lever named {lever}")
    decl = decl_lever.field(field)
    if not decl.low <= low < high <= decl.high:
        raise ValueError(
            f"{lever}.{field}: sampled range [{low}, {high}] outside the declared [{decl.low}, {decl.high}]"
        )
    yearly = any(p.name == field for p in decl_lever.yearly)

    def apply(scenario: Scenario, value: float) -> Scenario:
        start = _lever_start(scenario, lever)
        if yearly:
            current = dict(scenario.policy.setting(lever).yearly.get(field, {}))
            first = max(HISTORY_END_YEAR + 1, BASE_YEAR + month_index(start) // 12)
            current.update({y: float(value) for y in scenario.years if y >= first})
            if not current:  # the run ends before the years the value would act in: nothing changes
                return scenario
            table: dict[str, Any] = {field: {str(y): v for y, v in sorted(current.items())}}
        else:
            table = {field: int(round(value)) if decl.integer else float(value)}
        return override(scenario, policy={lever: {**table, "from": start}})

    def current(scenario: Scenario) -> float:
        setting = scenario.policy.setting(lever)
        if yearly:
            values = setting.yearly.get(field, {})
            later = [v for y, v in sorted(values.items()) if y > HISTORY_END_YEAR]
            return float(later[-1]) if later else 0.0
        return setting.get(decl_lever, field)

    unit = "%" + decl.unit.removeprefix("fraction") if decl.unit.startswith("fraction") else decl.unit
    return UncertainInput(
        name=f"{lever}.{field}",
        label_en=decl.label("en"),
        label_zh=decl.label("zh"),
        unit=unit,
        low=low,
        high=high,
        reason=f"{reason} (declared range {decl.low:g}-{decl.high:g} {decl.unit}: {decl.reason})",
        apply=apply,
        current=current,
        integer=decl.integer,
    )


SCENARIO_INPUTS: tuple[UncertainInput, ...] = (
    UncertainInput(
        "price_level",
        "carbonate price after the history",
        "历史之后的碳酸锂价格",
        "yuan/t",
        50_000.0,
        200_000.0,
        "battery-grade carbonate incl. VAT the price reverts to after the last quoted month: from below the "
        "2025 trough (~60,000) and the 60-70k cost support to twice the late-2025 spot; the 2022 peak of "
        "~600,000 is left out as a spike, not a level",
        _price_level,
        current=_current_price_level,
        applies=_path_mode,
        unit_zh="元/吨",
    ),
    UncertainInput(
        "price_volatility",
        "carbonate price volatility",
        "碳酸锂价格波动率",
        "% a month (log sd)",
        0.0,
        0.2,
        "monthly log standard deviation of price shocks after the history: from none to about the size of "
        "2022-25's monthly moves",
        _volatility,
        current=lambda s: s.volatility,
        applies=_path_mode,
        unit_zh="%/月（对数标准差）",
    ),
    UncertainInput(
        "demand_growth",
        f"cell-demand growth after {HISTORY_END_YEAR} (× the scenario's)",
        f"{HISTORY_END_YEAR}年后电池需求增速（情景增速的倍数）",
        "x",
        0.5,
        1.5,
        "national cell-demand growth rates after the history, as a multiple of the scenario's: from half "
        "(an EV and storage slowdown) to one and a half times (storage booms)",
        _demand_growth,
        current=lambda s: 1.0,
        unit_zh="倍",
    ),
)

LEVER_INPUTS: tuple[UncertainInput, ...] = (
    lever_input("energy_support", "cost_cut", 0.0, 0.3, "from nothing to a deep cut (direct gas supply saves ~8%)"),
    lever_input("investment_support", "capex_subsidy", 0.0, 0.3, "from nothing to several times the 3-8% paid now"),
    lever_input("tax_relief", "amount", 0.0, 10.0, "亿元 a year: from nothing to three times the ~3.2 of 2024"),
)


def project_inputs(scenario: Scenario) -> tuple[UncertainInput, ...]:
    """The completion probability of each project in the scenario's pipeline (``[[policy.projects]]``)."""
    out = []
    for index, project in enumerate(scenario.policy.projects):

        def apply(scn: Scenario, value: float, index: int = index) -> Scenario:
            table = scn.policy.to_table(month_label).get("projects", [])
            table[index] = {**table[index], "probability": float(value)}
            return override(scn, policy={"projects": table})

        out.append(
            UncertainInput(
                f"project:{project.name}",
                f"{project.name}: chance it is built",
                f"{project.name}：建成概率",
                "%",
                0.0,
                1.0,
                "a signed project may be built or not: any chance from none to certain (drawn once per replicate)",
                apply,
                current=lambda s, index=index: s.policy.projects[index].probability,
                unit_zh="%",
            )
        )
    return tuple(out)


def uncertain_inputs(scenario: Scenario) -> tuple[UncertainInput, ...]:
    """Every declared uncertain input that means something for ``scenario``, in a fixed order."""
    return tuple(u for u in (*SCENARIO_INPUTS, *LEVER_INPUTS, *project_inputs(scenario)) if u.applies(scenario))


def apply_inputs(scenario: Scenario, inputs: Sequence[UncertainInput], values: Mapping[str, float]) -> Scenario:
    """``scenario`` with each input in ``values`` set (inputs not in ``values`` keep the scenario's value)."""
    for decl in inputs:
        if decl.name in values:
            scenario = decl.apply(scenario, values[decl.name])
    return scenario


def draw(inputs: Sequence[UncertainInput], n: int, seed: int) -> pd.DataFrame:
    """``n`` Latin-hypercube samples over the inputs' ranges (a column per input)."""
    if not inputs:
        raise InputError("the scenario has no uncertain inputs to sample", key="SCENARIO")
    bounds = {u.name: (u.low, u.high) for u in inputs}
    return latin_hypercube(
        bounds, n, np.random.default_rng([int(seed), 0x4C48]), integers=[u.name for u in inputs if u.integer]
    )


# ---------------------------------------------------------------------------------------------------------
# running the samples
# ---------------------------------------------------------------------------------------------------------
def _figures(
    scenario: Scenario, seed: int, replicates: int, months: int, clauses: tuple[Clause, ...]
) -> dict[str, float] | str:
    """The target's figures of one sampled scenario, each the mean over the replicates (a worker task); the
    traceback text if the scenario raised."""
    try:
        seeds = np.random.SeedSequence(seed).spawn(replicates)
        metrics = simulate_metrics(scenario, seeds=seeds, months=months)
        out = {}
        for c in clauses:
            _, values = metrics[(c.region, c.segment, c.metric)]
            out[c.column] = float(np.mean(values[:, c.year - BASE_YEAR]))
        return out
    except Exception:  # one bad draw is recorded, the others go on
        return traceback.format_exc()


@dataclasses.dataclass
class Exploration:
    """The samples, their figures, whether the target holds in each, the PRIM boxes and how sure they are.

    ``holds_box`` and ``fails_box`` are the reported boxes (significant limits only; `PrimResult`), or None when
    the target holds in no draw (fails in none); ``holds_sure`` and ``fails_sure`` hold the same boxes with their
    p-values, the limits dropped and the bootstrap resamples (`sim.discovery.confidence.SureBox`); ``caveats``
    the warnings about the sample.
    """

    scenario: Scenario
    target: Target
    inputs: tuple[UncertainInput, ...]
    samples: pd.DataFrame  # a column per input
    figures: pd.DataFrame  # a column per clause
    holds: np.ndarray  # bool per sample
    failed: dict[int, str]  # sample -> traceback
    holds_sure: SureBox | None
    fails_sure: SureBox | None
    caveats: list[Caveat]
    replicates: int
    seed: int
    wall_time_s: float

    @property
    def holds_box(self) -> PrimResult | None:
        return None if self.holds_sure is None else self.holds_sure.result

    @property
    def fails_box(self) -> PrimResult | None:
        return None if self.fails_sure is None else self.fails_sure.result

    def sure(self, which: str = "holds") -> SureBox | None:
        return self.holds_sure if which == "holds" else self.fails_sure

    @property
    def ok(self) -> np.ndarray:
        return ~self.samples.index.isin(list(self.failed))

    def box_words(self, which: str = "holds", lang: str = "en") -> str:
        result = self.holds_box if which == "holds" else self.fails_box
        if result is None:
            return ""
        return describe_box(result.box(), self.labels(lang), self.units(lang), lang=lang)

    def dropped_words(self, which: str = "holds", lang: str = "en") -> str:
        """The inputs PRIM restricted whose limits did not pass the significance test, by label ('' if none)."""
        sure = self.sure(which)
        if sure is None:
            return ""
        labels = self.labels(lang)
        return ("、" if lang == "zh" else ", ").join(labels.get(k, k) for k in sure.dropped_inputs)

    def labels(self, lang: str = "en") -> dict[str, str]:
        return {u.name: u.label(lang) for u in self.inputs}

    def units(self, lang: str = "en") -> dict[str, str]:
        return {u.name: u.unit_in(lang) for u in self.inputs}

    def table(self) -> pd.DataFrame:
        """samples.csv: a row per sample: its inputs, the target's figures, whether it holds, whether it failed."""
        out = pd.concat([self.samples, self.figures], axis=1)
        out.insert(0, "sample", np.arange(len(out)))
        out["target"] = self.holds
        out["failed"] = ~self.ok
        return out

    def meta(self) -> dict[str, Any]:
        def box(sure: SureBox | None) -> dict[str, Any] | None:
            if sure is None:
                return None
            result = sure.result
            limits = result.box()
            return {
                "coverage": result.chosen_stats["coverage"],
                "density": result.chosen_stats["density"],
                "support": result.chosen_stats["support"],
                "mass": result.chosen_stats["mass"],
                "rule": result.rule,
                "limits": {
                    row.dimension: [float(row.lower), float(row.upper)]
                    for row in limits.itertuples(index=False)
                    if row.restricted
                },
                "confidence": _jsonable(sure.summary()),
            }

        return {
            "kind": "lithium-sim explore",
            "scenario": self.scenario.name,
            "scenario_file": self.scenario.source,
            "target": self.target.text,
            "clauses": [str(c) for c in self.target.clauses],
            "question": self.target.question("en"),
            "samples": len(self.samples),
            "replicates": self.replicates,
            "seed": self.seed,
            "failed_samples": {str(k): v for k, v in sorted(self.failed.items())},
            "holds": int(self.holds.sum()),
            "caveats": [{"key": c.key, "en": c.en, "zh": c.zh} for c in self.caveats],
            "inputs": [
                {
                    "name": u.name,
                    "label_en": u.label_en,
                    "label_zh": u.label_zh,
                    "unit": u.unit,
                    "low": u.low,
                    "high": u.high,
                    "reason": u.reason,
                }
                for u in self.inputs
            ],
            "holds_box": box(self.holds_sure),
            "fails_box": box(self.fails_sure),
            "version": code_version(),
            "wall_time_s": round(self.wall_time_s, 3),
        }

    def save(self, out_dir: str | Path, lang: str = "en", *, force: bool = False) -> Path:
        """Write the explore directory atomically: samples.csv, explore.json, SUMMARY.md, and a PRIM report
        (`sim.discovery.report.write_report`) in ``holds/`` and ``fails/`` for each box that exists."""
        ok = self.ok
        x = self.samples[ok].reset_index(drop=True)
        first = self.target.clauses[0].column
        outcome = self.figures.loc[ok, first].to_numpy()
        holds = self.holds[ok]

        def fill(tmp: Path) -> None:
            self.table().to_csv(tmp / "samples.csv", index=False)
            for side, sure, mask in (("holds", self.holds_sure, holds), ("fails", self.fails_sure, ~holds)):
                if sure is None:
                    continue
                question = self.target.question("en") if side == "holds" else f"not ({self.target.question('en')})"
                write_report(  # the charts' input labels in their language (REPORT.md's prose is English)
                    tmp / side,
                    x,
                    outcome,
                    mask,
                    sure.result,
                    question=question,
                    labels=self.labels(lang),
                    units=self.units(lang),
                    outcome_name=first,
                    lang=lang,
                    sure=sure,
                )
            (tmp / "SUMMARY.md").write_text(self.summary_markdown(), encoding="utf-8")
            (tmp / "explore.json").write_text(json.dumps(self.meta(), indent=2, ensure_ascii=False), encoding="utf-8")

        return write_directory(out_dir, fill, EXPLORE_FILES, EXPLORE_OWNED, force=force)

    def console_lines(self, lang: str = "en") -> list[str]:
        """What ``lithium-sim explore`` prints, in ``lang``: the count, each reported box with its stability, the
        caveats."""
        holds, total = int(self.holds.sum()), int(self.ok.sum())
        lines = [say(lang, "explore.count", question=self.target.question(lang), holds=holds, total=total)]
        for side in ("holds", "fails"):
            sure = self.sure(side)
            if sure is None:
                continue
            s = sure.result.chosen_stats
            cov, den = sure.interval("coverage_out_of_bag"), sure.interval("density_out_of_bag")
            lines.append(
                say(
                    lang,
                    f"explore.box_{side}",
                    box=self.box_words(side, lang),
                    coverage=f"{s['coverage']:.0%}",
                    density=f"{s['density']:.0%}",
                    resamples=len(sure.resamples),
                    coverage_oob=_pct(cov, lang),
                    density_oob=_pct(den, lang),
                )  # fmt: skip
            )
            if sure.dropped_inputs:
                lines.append(say(lang, "explore.dropped", names=self.dropped_words(side, lang)))
        lines += [say(lang, "explore.warning", text=c.zh if lang == "zh" else c.en) for c in self.caveats]
        return lines

    def summary_markdown(self) -> str:
        n_ok, holds = int(self.ok.sum()), int(self.holds.sum())
        lines = [
            f"# Scenario discovery: {self.target.question('en')}",
            "",
            f"Scenario `{self.scenario.name}`; target `{self.target.text}`"
            + (f" ({', '.join(map(str, self.target.clauses))})" if self.target.name else "")
            + ".",
            "",
            f"- {len(self.samples):,} scenarios drawn (Latin hypercube) over {len(self.inputs)} uncertain inputs, "
            f"{self.replicates} replicate(s) each (the same replicate seeds for every draw), seed {self.seed}.",
            f"- The target holds in {holds:,} of {n_ok:,} ({holds / max(n_ok, 1):.1%}).",
        ]
        if self.failed:
            lines.append(f"- {len(self.failed)} draw(s) failed and are left out (tracebacks in explore.json).")
        if self.caveats:
            lines += ["", *(f"> **Warning.** {c.en}" for c in self.caveats)]
        for side, verb in (("holds", "holds"), ("fails", "fails")):
            sure = self.sure(side)
            lines += ["", f"## Where the target {verb}", ""]
            if sure is None:
                column = self.target.clauses[0].column
                values = self.figures.loc[self.ok, column]
                what = "never holds" if side == "holds" else "holds in every scenario drawn"
                lines.append(
                    f"The target {what} in the sampled ranges ({column} from {values.min():,.4g} to "
                    f"{values.max():,.4g}): there is no box to find."
                )
                if side == "holds" and len(values):
                    lines += ["", *self._closest(values)]
                continue
            s = sure.result.chosen_stats
            lines += [
                f"**{self.box_words(side)}**",
                "",
                f"Coverage {s['coverage']:.1%} (share of the scenarios where it {verb} that lie in the box), density "
                f"{s['density']:.1%} (share of the scenarios in the box where it {verb}), {s['mass']} scenarios in "
                f"the box. The full report: [{side}/REPORT.md]({side}/REPORT.md).",
                "",
                *_sure_lines(sure, self.labels("en")),
            ]
        lines += ["", "## The uncertain inputs", "", "| input | range | unit | why |", "|---|---|---|---|"]
        for u in self.inputs:
            span = f"{readable_number(u.low, u.unit)} – {readable_number(u.high, u.unit)}"
            lines.append(f"| {u.label_en} (`{u.name}`) | {span} | {u.unit} | {u.reason} |")
        return "\n".join(lines) + "\n"

    def _closest(self, values: pd.Series, count: int = 3) -> list[str]:
        """The draws that came nearest to the first clause, as a Markdown table (when the target never holds)."""
        clause = self.target.clauses[0]
        nearest = values.sort_values(ascending=clause.op in ("<", "<=")).index[:count]
        header = ["sample", clause.column, *(u.label_en for u in self.inputs)]
        lines = [
            f"The {len(nearest)} draws that came nearest:",
            "",
            "| " + " | ".join(header) + " |",
            "|" + "---|" * len(header),
        ]
        for i in nearest:
            cells = [str(i), f"{values[i]:,.4g}", *(readable_number(self.samples.loc[i, u.name], u.unit)
                                                   for u in self.inputs)]  # fmt: skip
            lines.append("| " + " | ".join(cells) + " |")
        return lines


def explore(
    scenario: Scenario,
    target: Target | str,
    samples: int = DEFAULT_SAMPLES,
    *,
    replicates: int = DEFAULT_REPLICATES,
    seed: int | None = None,
    workers: int = 1,
    progress: Callable[[int, int], None] | None = None,
    inputs: Sequence[UncertainInput] | None = None,
) -> Exploration:
    """Draw ``samples`` scenarios over the uncertain inputs, run them, and find the PRIM boxes of the target.

    Args:
        scenario: the scenario the draws start from.
        target: a `Target` or its text (see `parse_target`).
        samples: number of scenarios drawn.
        replicates: replicates per scenario (the same seeds for every draw).
        seed: master seed of the draws and the replicates (default: the scenario's).
        workers: local worker processes (1: this process).
        progress: called with (scenarios done, total) as they finish.
        inputs: the uncertain inputs (default: `uncertain_inputs(scenario)`).

    Raises:
        InputError: a bad target, a target year outside the run, or bad counts.
    """
    started = time.perf_counter()
    target = parse_target(target) if isinstance(target, str) else target
    target.check_years(scenario)
    if not 1 <= samples <= MAX_SAMPLES:
        raise InputError(f"must be from 1 to {MAX_SAMPLES:,}", key="--samples")
    inputs = tuple(inputs) if inputs is not None else uncertain_inputs(scenario)
    seed = scenario.seed if seed is None else int(seed)
    x = draw(inputs, samples, seed)
    months = (max(target.years) - BASE_YEAR + 1) * 12
    columns = [c.column for c in target.clauses]
    figures = np.full((samples, len(columns)), math.nan)
    failed: dict[int, str] = {}
    chunk = CHUNK_PER_WORKER * max(1, workers)
    with Executor(workers=workers) as pool:
        for start in range(0, samples, chunk):
            rows = x.iloc[start : start + chunk].to_dict("records")
            built = [apply_inputs(scenario, inputs, row) for row in rows]  # this chunk's scenarios only
            n = len(built)
            done = pool.map(_figures, built, [seed] * n, [replicates] * n, [months] * n, [target.clauses] * n)
            for i, result in enumerate(done, start=start):
                if isinstance(result, str):
                    failed[i] = result
                else:
                    figures[i] = [result[c] for c in columns]
            if progress is not None:
                progress(min(start + chunk, samples), samples)
    figures_frame = pd.DataFrame(figures, columns=columns)
    ok = ~np.isin(np.arange(samples), list(failed))
    holds = np.array(
        [ok[i] and target.holds(row) for i, row in enumerate(figures_frame.to_dict("records"))], dtype=bool
    )
    x_ok, y_ok = x[ok].reset_index(drop=True), holds[ok]
    holds_sure = sure_box(x_ok, y_ok, seed=[seed, 1]) if y_ok.any() else None
    fails_sure = sure_box(x_ok, ~y_ok, seed=[seed, 2]) if (~y_ok).any() else None
    return Exploration(
        scenario,
        target,
        inputs,
        x,
        figures_frame,
        holds,
        failed,
        holds_sure,
        fails_sure,
        sample_caveats(int(ok.sum()), len(inputs), int(y_ok.sum()), replicates),
        replicates,
        seed,
        time.perf_counter() - started,
    )


def _pct(interval: tuple[float, float, float], lang: str = "en") -> str:
    """'62% (48-75%)': a median and its 5-95% range, or 'n/a' ('无' in Chinese)."""
    median, low, high = interval
    if not math.isfinite(median):
        return "无" if lang == "zh" else "n/a"
    return f"{median:.0%} ({low:.0%}-{high:.0%})"


def _jsonable(value: Any) -> Any:
    """NaN as None, numpy numbers as Python's: for explore.json."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _sure_lines(sure: SureBox, labels: Mapping[str, str]) -> list[str]:
    """How sure a box is, in Markdown: its limits' p-values, the limits dropped, the bootstrap resamples."""
    lines = [
        f"How sure: over {len(sure.resamples)} bootstrap resamples of the draws, this box's coverage is "
        f"{_pct(sure.interval('coverage'))} and its density {_pct(sure.interval('density'))} (median, 5-95%); "
        f"PRIM run again on each resample finds boxes whose coverage on the draws each left out is "
        f"{_pct(sure.interval('coverage_out_of_bag'))} and density {_pct(sure.interval('density_out_of_bag'))}.",
    ]
    if len(sure.p_values):
        kept = "; ".join(
            f"{labels.get(r.dimension, r.dimension)} {r.side} p = {r.p_value:.2g}"
            for r in sure.p_values.itertuples(index=False)
        )
        lines.append(f"Each limit kept passed a one-sided binomial test at {sure.alpha:g} (quasi-p values: {kept}).")
    if sure.dropped_inputs:
        names = ", ".join(labels.get(k, k) for k in sure.dropped_inputs)
        lines.append(f"Restricted by PRIM but not significant, so dropped from the box: {names}.")
    reproduced = sure.reproduced[sure.reproduced > 0].sort_values(ascending=False)
    if len(reproduced):
        lines.append(
            "Restricted in the resamples' boxes: "
            + ", ".join(f"{labels.get(k, k)} {v:.0%}" for k, v in reproduced.items())
            + "."
        )
    return [" ".join(lines)]
