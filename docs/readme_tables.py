"""The README's result figures, generated from runs and from the calibration report, never copied by hand.

    make readme                                   # run, then rewrite the README's generated blocks
    .venv/bin/python docs/readme_tables.py --check   # exit 1 if the README's blocks differ from what the code gives

It runs the scenario library (``scenarios/run_library.py``'s list) at each scenario file's own seed with
`REPLICATES` replicates (as ``run_library.py --replicates 20`` does; the baseline's seed is 20240101), reads the
calibration report (``calibration/report/*.csv``, written by ``lithium-sim calibrate``) and the targets, and
writes these blocks of README.md, each between ``<!-- generated: NAME -->`` and ``<!-- end generated: NAME -->``:

- ``headline``: the report's 2023 figures, what the fit gave on its own seeds (in sample) and what the baseline
  gives on its replicates, which the fit never saw (calibration/seeds.py), with their P5-P95 bands;
- ``results``: the baseline's main figures by year, and the market mode's carbonate price against the record;
- ``library``: each library scenario's final year;
- ``scoreboard``: the baseline's place in the city's economy, 2023-26, and what the policy package changes, with
  the support it costs;
- ``fit``: the calibration's summary: targets by kind, in and out of sample, misses, the rolling-origin backtest
  against persistence, the recovery check and the wall time.

tests/test_readme.py fails when the README's blocks drift from what this script produces.
"""

from __future__ import annotations

import argparse
import re
import runpy
import sys
import textwrap
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
REPORT = ROOT / "calibration" / "report"
REPLICATES = 20  # the documented runs: each library scenario at its own seed, 20 replicates
YEARS = (2022, 2023, 2024, 2027, 2030)
MARKET_YEARS = (2022, 2023, 2024, 2025, 2026, 2027)
MARKET_SCENARIOS = ("baseline_market", "oversupply", "supply_discipline", "storage_boom")
BLOCK = re.compile(
    r"(<!-- generated: (?P<name>[a-z_]+)[^>]*-->\n)(?P<body>.*?)(<!-- end generated: (?P=name) -->)", re.S
)


def library() -> list[str]:
    """The library's scenarios, baseline first (the planners' script's list)."""
    return list(runpy.run_path(str(ROOT / "scenarios" / "run_library.py"), run_name="library")["LIBRARY"])


def run_library(workers: int = 1, names: list[str] | None = None) -> dict[str, pd.DataFrame]:
    """Each scenario's summary at its own seed and `REPLICATES` replicates (run directories are not kept)."""
    import sim

    out = {}
    for name in names or library():
        result = sim.run(ROOT / "scenarios" / f"{name}.toml", replicates=REPLICATES, workers=workers)
        out[name] = result.summary
        if result.store is not None:
            result.store.discard()
    return out


def _row(summary: pd.DataFrame, metric: str, region: str, segment: str, year: int) -> pd.Series:
    rows = summary[
        (summary.metric == metric) & (summary.region == region) & (summary.segment == segment) & (summary.year == year)
    ]
    if len(rows) != 1:
        raise KeyError(f"{metric} of {region} {segment} in {year}: {len(rows)} rows in the summary")
    return rows.iloc[0]


def _n(value: float, digits: int = 1) -> str:
    """A figure as the README prints it: thousands separated, a proper minus sign."""
    return f"{value:,.{digits}f}".replace("-", "−")


def _range(low: float, high: float, digits: int = 1) -> str:
    """A band, "a–b", or "a to b" when a sign would make the dash read as a minus."""
    return f"{_n(low, digits)}{' to ' if low < 0 or high < 0 else '–'}{_n(high, digits)}"


def _banded(row: pd.Series, digits: int = 1, scale: float = 1.0) -> str:
    return f"{_n(row['mean'] / scale, digits)} ({_range(row.p05 / scale, row.p95 / scale, digits)})"


def _fit_row(fit: pd.DataFrame, target: str) -> pd.Series:
    return fit.set_index("target").loc[target]


def _wrap(text: str) -> str:
    """Prose wrapped as the README's (tables and blank lines kept as they are; list items indented)."""
    out = []
    for line in text.split("\n"):
        if not line or line.startswith("|"):
            out.append(line)
        else:
            indent = "  " if line.startswith("- ") else ""
            out.append(
                textwrap.fill(line, width=116, subsequent_indent=indent, break_on_hyphens=False, break_long_words=False)
            )
    return "\n".join(out)


def headline(summaries: dict[str, pd.DataFrame], fit: pd.DataFrame) -> str:
    base = summaries["baseline"]
    figures = (
        ("suining_salt_share_2023", "national_share", "lithium_salt", "Suining's share of China's basic lithium salts"),
        ("suining_lfp_share_2023", "national_share", "lfp_cathode", "Suining's share of China's LFP cathode"),
        ("suining_real_va_growth_2023", "value_added_real_growth", "all", "real growth of its lithium value added"),
    )
    seeds = int(fit.in_sample_seeds.iloc[0])
    lines = [
        f"| 2023, % | report (band) | fitted: the fit's own {seeds} seeds (in sample) | baseline's {REPLICATES} "
        "replicates, never seen by the fit: mean (P5–P95) | inside the band |",
        "|---|---|---|---|---|",
    ]
    inside = 0
    for target, metric, segment, what in figures:
        f = _fit_row(fit, target)
        row = _row(base, metric, "suining", segment, 2023)
        ok = bool(f.band_low <= row["mean"] <= f.band_high)
        inside += ok
        lines.append(
            f"| {what} | {f.value:g} ({f.band_low:g}–{f.band_high:g}) | {_n(f.in_sample_mean)} | {_banded(row)} | "
            f"{'yes' if ok else '**no**'} |"
        )
    informative = fit[fit.kind.isin(("fitted", "held_out"))]
    share = _row(base, "gdp_share", "suining", "all", 2023)
    contribution = _row(base, "gdp_growth_contribution", "suining", "all", 2023)
    city = _row(base, "city_gdp_growth", "suining", "all", 2023)
    text = (
        "These figures are **fitted**: the calibration chooses the parameters that bring the model's 2023 mean to "
        "them on seeds of its own, so the in-sample column meets them by construction. The baseline's replicates "
        f"are seeds the fit never saw: {inside} of the 3 figures lie inside their bands there. Over all "
        f"{len(informative)} informative targets (fitted or held out; inputs and identities are not counted), "
        f"{int(informative.out_of_sample_inside.sum())} lie inside their bands out of sample (section "
        f'"Calibration"). In the same run lithium is {_n(share["mean"], 2)}% of the city\'s 2023 GDP '
        f"({_range(share.p05, share.p95, 2)}) and adds {_n(contribution['mean'], 2)} percentage points "
        f'({_range(contribution.p05, contribution.p95, 2)}) to its {_n(city["mean"])}% growth (section "The '
        "report's scoreboard\"). Everything after 2024 is a projection under the scenario's inputs (docs/model.md, "
        '"What is fitted, what is an input, what is predicted").'
    )
    return "\n".join(lines) + "\n\n" + _wrap(text)


def results(summaries: dict[str, pd.DataFrame]) -> str:
    base = summaries["baseline"]
    rows = [
        ("Suining lithium value added (亿元, current prices)", "value_added", "suining", "all", 1, 1.0, True),
        ("real growth of Suining lithium value added (%)", "value_added_real_growth", "suining", "all", 1, 1.0, True),
        ("Suining share of China's lithium salts (%)", "national_share", "suining", "lithium_salt", 1, 1.0, True),
        ("Suining share of China's LFP cathode (%)", "national_share", "suining", "lfp_cathode", 1, 1.0, True),
        ("China's cell makers' profit (亿元)", "profit", "china", "battery", 0, 1.0, False),
        ("China's LFP capacity (Mt/yr, year end)", "capacity", "china", "lfp_cathode", 2, 1e6, False),
        ("China's LFP utilisation (%)", "utilization", "china", "lfp_cathode", 0, 0.01, False),
    ]
    lines = [
        f"| baseline, mean (P5–P95) | {' | '.join(str(y) for y in YEARS)} |",
        "|---|" + "---|" * len(YEARS),
    ]
    for label, metric, region, segment, digits, scale, band in rows:
        cells = []
        for year in YEARS:
            try:
                row = _row(base, metric, region, segment, year)
            except KeyError:
                cells.append("")
                continue
            if pd.isna(row["mean"]):
                cells.append("")
            elif band:
                cells.append(_banded(row, digits, scale))
            else:
                cells.append(_n(row["mean"] / scale, digits))
        lines.append(f"| {label} | {' | '.join(cells)} |")
    unmet = [
        _row(base, "unmet_demand", "china", "battery", y)["mean"] / _row(base, "demand", "china", "battery", y)["mean"]
        for y in YEARS
    ]
    lines.append(f"| China's unmet cell demand (% of demand) | {' | '.join(_n(100 * u, 1) for u in unmet)} |")
    from calibration.targets import load_targets

    recorded = {
        t.spec.year: t.value
        for t in load_targets()
        if t.used and (t.spec.scenario, t.spec.metric, t.spec.region) == ("baseline_market", "price", "world")
    }
    market = [
        "",
        "Market mode: the carbonate price (k yuan/t incl. VAT, annual mean; the price parameters are fitted to the "
        "2022–24 record):",
        "",
        f"| scenario | {' | '.join(str(y) for y in MARKET_YEARS)} |",
        "|---|" + "---|" * len(MARKET_YEARS),
        "| recorded | " + " | ".join(_n(recorded[y] / 1e3, 0) if y in recorded else "" for y in MARKET_YEARS) + " |",
    ]
    for name in MARKET_SCENARIOS:
        if name not in summaries:
            continue
        cells = [_n(_row(summaries[name], "price", "world", "lithium_salt", y)["mean"] / 1e3, 0) for y in MARKET_YEARS]
        market.append(f"| {name} | {' | '.join(cells)} |")
    return _wrap("\n".join(lines + market))


def library_table(summaries: dict[str, pd.DataFrame]) -> str:
    names = [n for n in library() if n in summaries]
    final = int(summaries[names[0]].year.max())
    lines = [
        f"| scenario ({final}, {REPLICATES} replicates) | Suining lithium value added, 亿元: mean (P5–P95) | "
        "share of city GDP (%) | Suining LFP share (%) |",
        "|---|---|---|---|",
    ]
    for name in names:
        s = summaries[name]
        va = _row(s, "value_added", "suining", "all", final)
        gdp = _row(s, "gdp_share", "suining", "all", final)
        lfp = _row(s, "national_share", "suining", "lfp_cathode", final)
        lines.append(f"| `{name}` | {_banded(va)} | {_n(gdp['mean'], 2)} | {_n(lfp['mean'])} |")
    return "\n".join(lines)


def fit_summary(report: Path = REPORT) -> str:
    fit = pd.read_csv(report / "fit.csv")
    informative = fit[fit.kind.isin(("fitted", "held_out"))]
    kinds = fit.kind.value_counts()
    timings = pd.read_csv(report / "timings.csv").set_index("step").seconds
    out = [
        f"Targets: {len(fit)} scored, of which {kinds.get('fitted', 0)} fitted, {kinds.get('held_out', 0)} held out, "
        f"{kinds.get('input', 0)} inputs and {kinds.get('identity', 0)} identities (`kind` in "
        "`calibration/targets.toml`); only the informative ones (fitted and held out) are counted. "
        f"**{int(informative.out_of_sample_inside.sum())} of {len(informative)} informative targets lie inside their "
        f"bands out of sample** (the mean of {int(fit.out_of_sample_seeds.iloc[0])} replicates on seeds of their "
        f"own); {int(informative.in_sample_inside.sum())} of {len(informative)} on the fit's own "
        f"{int(fit.in_sample_seeds.iloc[0])} seeds (in sample); "
        f"{int(informative.hand_set_inside.sum())} of {len(informative)} with the hand-set parameters."
    ]
    flagged = informative[informative.passes_in_sample_fails_out_of_sample]
    if len(flagged):
        out[-1] += " Inside in sample but outside out of sample: " + ", ".join(f"`{t}`" for t in flagged.target) + "."
    misses = informative[~informative.out_of_sample_inside]
    if len(misses):
        out.append("")
        out.append("Outside their bands out of sample (`calibration/report/REPORT.md` says why):")
        out.append("")
        for r in misses.itertuples():
            out.append(
                f"- `{r.target}`: {_num(r.out_of_sample_mean)} against {_num(r.value)} {r.unit} (band "
                f"{_num(r.band_low)}–{_num(r.band_high)})"
            )
    backtest = pd.read_csv(report / "backtest.csv", keep_default_na=False, na_values=[""])
    out += [
        "",
        "Rolling-origin backtest: fitted through one year, scored on the next year's informative targets out of "
        "sample, beside persistence (the same figure's value a year earlier carried forward, where the targets "
        "have one):",
        "",
        "| fitted through | scored | model inside | with a value to carry forward | model inside | persistence "
        "inside | model closer | mean abs z: model | persistence |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for (through, scored), t in backtest.groupby(["through", "scored_year"]):
        both = t[t.persistence_from != "no earlier value"]
        out.append(
            f"| {through} | {scored} | {int(t.model_inside.sum())} of {len(t)} | {len(both)} | "
            f"{int(both.model_inside.sum())} | {int(both.persistence_inside.sum())} | "
            f"{int((both.model_closer == 'yes').sum())} | {both.model_z.abs().mean():.2f} | "
            f"{both.persistence_z.abs().mean():.2f} |"
        )
    recovery = pd.read_csv(report / "recovery.csv")
    out += [
        "",
        f"Parameter recovery ({int(recovery.replications.iloc[0])} refits on pseudo-data from fresh seeds with noise "
        "of the size of each tolerance):",
        "",
        "| parameter | truth | bias (share of range) | spread (share of range) | 90% intervals holding the truth | "
        "median interval (share of range) | status |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in recovery.itertuples():
        out.append(
            f"| `{r.parameter}` | {r.truth:g} | {r.bias_share_of_range:+.3f} | {r.spread_share_of_range:.3f} | "
            f"{r.coverage90:.0%} | {r.median_interval_share_of_range:.0%} | {r.status} |"
        )
    parameters = pd.read_csv(report / "parameters.csv")
    unidentified = parameters[parameters.identification == "not identified"]
    out.append("")
    if len(unidentified):
        out.append(
            "**Not identified** by the fit (its 90% interval covers nearly the whole search range): "
            + ", ".join(f"`{p}`" for p in unidentified.parameter)
            + "."
        )
    workers = pd.read_csv(report / "timings.csv").workers.iloc[0]
    out.append(
        f"The committed calibration took {timings.get('total', float('nan')):.0f} s on {workers} worker"
        f"{'' if str(workers) == '1' else 's'} of the machine that ran it (search "
        f"{timings['search']:.0f} s, backtest {timings.get('backtest', 0):.0f} s, recovery "
        f"{timings.get('parameter recovery', 0):.0f} s)."
    )
    if "Resumed from a checkpoint" in (report / "REPORT.md").read_text(encoding="utf-8"):
        out.append(
            "Its search and backtest resumed from the checkpoints of an earlier, interrupted run of the same code "
            "(`--resume`), so their times are those of the resume, not of a search from the start."
        )
    return _wrap("\n".join(out))


SCOREBOARD_YEARS = (2023, 2024, 2025, 2026)
SCOREBOARD = (  # (metric, label, digits)
    ("gdp_share", "share of city GDP (%)", 2),
    ("gdp_growth_contribution", "contribution to GDP growth (points)", 2),
    ("fixed_asset_investment", "fixed-asset investment (亿元)", 1),
    ("local_fiscal_revenue", "local fiscal revenue (亿元)", 2),
    ("support", "policy support paid (亿元)", 2),
)


def scoreboard(summaries: dict[str, pd.DataFrame]) -> str:
    """The baseline's and the policy package's city figures, 2023-26 (means of the replicates)."""
    base, package = summaries["baseline"], summaries["policy_package"]

    def mean(summary, metric, year):
        return _row(summary, metric, "suining", "all", year)["mean"]

    g = {y: mean(base, "value_added_real_growth", y) for y in (2023,)}
    out = [
        f"The baseline ({REPLICATES} replicates, means): in 2023 lithium was **{mean(base, 'gdp_share', 2023):.2f}% of "
        f"Suining's GDP** and contributed **{mean(base, 'gdp_growth_contribution', 2023):.2f} percentage points** of "
        f"the city's {mean(base, 'city_gdp_growth', 2023):.1f}% growth (its real value added grew {g[2023]:.1f}%).",
        "",
        "| scenario | figure | " + " | ".join(str(y) for y in SCOREBOARD_YEARS) + " |",
        "|---|---|" + "---|" * len(SCOREBOARD_YEARS),
    ]
    for name, summary in (("baseline", base), ("policy_package", package)):
        for metric, label, digits in SCOREBOARD:
            cells = [_n(mean(summary, metric, y), digits) for y in SCOREBOARD_YEARS]
            out.append(f"| `{name}` | {label} | " + " | ".join(cells) + " |")
    return "\n".join(out)


def _num(value: float) -> str:
    if abs(value) >= 1e4:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:,.1f}"
    return f"{value:.3g}"


def blocks(summaries: dict[str, pd.DataFrame], report: Path = REPORT) -> dict[str, str]:
    """Every generated block's text."""
    fit = pd.read_csv(report / "fit.csv")
    return {
        "headline": headline(summaries, fit),
        "results": results(summaries),
        "library": library_table(summaries),
        "scoreboard": scoreboard(summaries),
        "fit": fit_summary(report),
    }


def current(text: str) -> dict[str, str]:
    """The README's generated blocks as they stand."""
    return {m.group("name"): m.group("body").rstrip("\n") for m in BLOCK.finditer(text)}


def rewrite(text: str, new: dict[str, str]) -> str:
    """The README with its generated blocks replaced (every block must have its markers)."""
    missing = set(new) - set(current(text))
    if missing:
        raise SystemExit(f"README.md lacks the markers of block(s) {sorted(missing)}")

    def fill(m: re.Match) -> str:
        name = m.group("name")
        return m.group(1) + (new[name] + "\n" if name in new else m.group("body")) + m.group(4)

    return BLOCK.sub(fill, text)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--check", action="store_true", help="compare, do not write; exit 1 on a difference")
    ap.add_argument("--report", type=Path, default=REPORT, help="the calibration report (calibration/report/)")
    args = ap.parse_args()
    new = blocks(run_library(args.workers), args.report)
    text = README.read_text(encoding="utf-8")
    updated = rewrite(text, new)
    if args.check:
        stale = [name for name, body in current(text).items() if new.get(name, body) != body]
        if stale:
            print(f"README.md: generated block(s) out of date: {', '.join(stale)} (run `make readme`)")
            return 1
        print("README.md: generated blocks up to date")
        return 0
    if updated != text:
        README.write_text(updated, encoding="utf-8")
        print("README.md: generated blocks rewritten")
    else:
        print("README.md: generated blocks already up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
