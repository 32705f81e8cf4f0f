"""The workbench page (Solara): a starting scenario and its controls on the left; results and scenario discovery
on the right. The page holds the view; `sim.app.workbench` does the work.

Served by `sim.app.server` (``lithium-sim app``); everything the page loads comes from this machine.

What makes it answer in about a second (docs/workbench.md, "Speed"):

- the server is warm: the engine is imported and the first view's runs (the library's baselines of both price
  modes and the default scenario, 20 replicates) are made in the background when the server starts, and kept in
  the run cache (`sim.app.workbench.CACHE`) with every later run;
- a control sends its value when the slider is let go, and the scenario runs at once (no Run button): a run of
  20 replicates takes about half a second, the baseline comes from the cache;
- charts are drawn in the browser (ECharts, `chart.vue`): the server sends their numbers, not pictures;
- the downloads are prepared by a worker process at low priority as soon as a run is shown, so a click finds
  them ready and the next slider does not wait for them.

``LITHIUM_SIM_APP_COLD=1`` serves the page the way it answered before (no warm start, every run made again,
charts drawn on the server as PNG images, downloads made on the click): the benchmark's "before" figures
(benchmarks/bench_workbench.py).
"""

from __future__ import annotations

import concurrent.futures
import html
import io
import math
import os
import tempfile
import threading
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import solara
import solara.lab

from sim.api import InputError
from sim.app import charts as app_charts
from sim.app import workbench as wb
from sim.app.failure import message as failure_message
from sim.app.scenario_toml import scenario_toml
from sim.app.words import metric_name, words
from sim.discovery.explore import Exploration, explore
from sim.discovery.targets import NAMED_TARGETS, parse_target
from sim.outputs.cluster_charts import span
from sim.outputs.labels import segment_label, unit_label
from sim.runs.executors import process_pool

WORKERS = max(1, int(os.environ.get("LITHIUM_SIM_APP_WORKERS", "1") or 1))
COLD = os.environ.get("LITHIUM_SIM_APP_COLD", "") == "1"  # the page as it answered before (benchmarks only)
FONT_URL = "/static/assets/LithiumSimCJK-Regular.otf"
STYLE = f"""
@font-face {{
  font-family: "LithiumSim CJK";
  src: url("{FONT_URL}") format("opentype");
  font-display: swap;
}}
html, body, .v-application, .v-application .text-h6, .v-application .title, .v-btn, .v-label, input, table {{
  font-family: Roboto, Arial, "LithiumSim CJK", sans-serif !important;
}}
.lsim-table {{ border-collapse: collapse; font-size: 0.85em; margin: 4px 0 12px 0; }}
.lsim-table th, .lsim-table td {{ border-bottom: 1px solid #ddd; padding: 2px 8px; text-align: right; }}
.lsim-table th:first-child, .lsim-table td:first-child {{ text-align: left; }}
.lsim-headline {{ display: flex; flex-wrap: wrap; gap: 10px; margin: 4px 0 8px 0; }}
.lsim-card {{ border: 1px solid #ddd; border-radius: 6px; padding: 6px 10px; min-width: 170px; }}
.lsim-card .lsim-value {{ font-size: 1.25em; font-weight: 500; }}
.lsim-card .lsim-delta {{ font-size: 0.85em; color: #555; }}
.lsim-fiscal .lsim-card {{ background: #fbf7ef; }}
.lsim-negative {{ color: #b00020 !important; }}
.lsim-muted {{ color: #666; font-size: 0.85em; }}
.lsim-against {{ color: #444; font-size: 0.9em; margin: 2px 0 6px 0; }}
.lsim-chart-title {{ font-weight: 500; margin: 10px 0 0 0; }}
.lsim-chart img {{ max-width: 100%; }}
"""
_TMP = tempfile.TemporaryDirectory(prefix="lithium-sim-app-")  # removed when the server exits
# Matplotlib work (the workbook, run directories, discovery charts) runs on one thread outside any browser
# session: Solara scopes matplotlib's settings per session, which makes drawing within a session several times
# slower, and one thread keeps pyplot's figures from meeting.
_DRAWING = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="lithium-sim-drawing")
CHART_HEIGHT = 300


def _drawn(fn: Callable[..., Any], *args: Any) -> Any:
    """``fn(*args)`` on the drawing thread."""
    return _DRAWING.submit(fn, *args).result()


if COLD:
    wb.CACHE.size = 0  # every run made again, as before the cache and the warm start
else:
    wb.CACHE.firm_detail = 0  # the page shows summaries; the zip's run directories are made apart (_run_files)


# ---------------------------------------------------------------------------------------------------------
# warm start and downloads prepared ahead
# ---------------------------------------------------------------------------------------------------------
def _warm_start() -> None:
    """Run the first view's scenarios (the baselines of both price modes and the default scenario) into the cache,
    and their run directories' files, so the first page and the first downloads do not wait for them."""
    started = time.perf_counter()
    try:
        start = wb.load_library(wb.DEFAULT_SCENARIO)
        base, _ = wb.run_pair(start, wb.DEFAULT_REPLICATES, WORKERS)
        wb.run_pair(wb.load_library(wb.BASELINES["market"]), wb.DEFAULT_REPLICATES, WORKERS)
        _DRAWING.submit(_run_files, base, "en").result()
        print(f"lithium-sim app: warm ({time.perf_counter() - started:.1f} s)", flush=True)
    except Exception as err:  # a failed warm start leaves the page to run on demand, as it would anyway
        print(f"lithium-sim app: warm start failed ({err}); runs are made on demand", flush=True)


_RUN_FILES: dict[tuple, dict[str, bytes]] = {}
_WORKER: concurrent.futures.ProcessPoolExecutor | None = None
_DOWNLOADS: dict[tuple, concurrent.futures.Future] = {}
_PREPARED_LOCK = threading.Lock()


def _in_worker(fn: Callable[..., Any], *args: Any) -> Any:
    """``fn(*args)`` in the worker process (drawing and workbooks hold the interpreter for seconds: there they
    leave the server free to answer the next slider)."""
    global _WORKER
    with _PREPARED_LOCK:
        if _WORKER is None:
            _WORKER = process_pool(1)
            _WORKER.submit(os.nice, 10)  # it works while the planner reads; a slider's run goes first
    return _WORKER.submit(fn, *args).result()


def _run_files(result, lang: str) -> dict[str, bytes]:
    """A run directory's files (as ``lithium-sim run`` writes them: per-firm tables and charts included), by
    relative path, made in the worker process; cached by the run and the language."""
    key = (*wb.RunCache.key(result.scenario, result.meta["replicates"]), lang)
    with _PREPARED_LOCK:
        if key in _RUN_FILES:
            return _RUN_FILES[key]
    files = _in_worker(wb.run_directory_files, result.scenario, result.meta["replicates"], lang)
    with _PREPARED_LOCK:
        _RUN_FILES[key] = files
        while len(_RUN_FILES) > 8:
            _RUN_FILES.pop(next(iter(_RUN_FILES)))
    return files


def _zip(base, scen, lang: str, toml: str) -> bytes:
    """Both run directories and the scenario's TOML, zipped from the cached files (fast compression)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        names: list[str] = []
        for result in (base, scen):
            name = result.scenario.name if result.scenario.name not in names else f"{result.scenario.name}-2"
            names.append(name)
            for path, data in _run_files(result, lang).items():
                archive.writestr(f"{name}/{path}", data)
        archive.writestr(f"{scen.scenario.name}.toml", toml)
    return buffer.getvalue()


def _prepared(kind: str, base, scen, lang: str, toml: str, table: pd.DataFrame) -> concurrent.futures.Future:
    """The download ``kind`` ("zip" or "xlsx") of a pair of runs, started on the drawing thread once."""
    key = (kind, *wb.RunCache.key(base.scenario, base.meta["replicates"]), *wb.RunCache.key(scen.scenario, 0), lang)
    with _PREPARED_LOCK:
        future = _DOWNLOADS.get(key)
        if future is None:
            for older in _DOWNLOADS.values():  # a newer run shows: what was not started for older ones waits
                older.cancel()
            if kind == "zip":
                work = lambda: _zip(base, scen, lang, toml)  # noqa: E731
            else:
                projects = {r.scenario.name: len(r.scenario.policy.projects) for r in (base, scen)}
                work = lambda: _in_worker(wb.workbook_bytes, table, lang, projects)  # noqa: E731
            future = _DOWNLOADS[key] = _DRAWING.submit(work)
            while len(_DOWNLOADS) > 16:
                _DOWNLOADS.pop(next(iter(_DOWNLOADS)))
    return future


def _download(kind: str, base, scen, lang: str, toml: str, table: pd.DataFrame) -> bytes:
    if COLD:  # as before: made on the click, the comparison's charts and both runs' charts drawn then
        if kind == "zip":
            return _drawn(wb.runs_zip, base, scen, lang, toml)
        return _drawn(wb.workbook_with_charts, base, scen, lang)
    future = _prepared(kind, base, scen, lang, toml, table)
    if future.cancelled():  # put aside for a newer run in another tab: made now
        with _PREPARED_LOCK:
            _DOWNLOADS.pop(next(k for k, v in _DOWNLOADS.items() if v is future), None)
        future = _prepared(kind, base, scen, lang, toml, table)
    return future.result()


if not COLD:
    threading.Thread(target=_warm_start, name="lithium-sim-warm-start", daemon=True).start()


@solara.component_vue("upload.vue")
def TomlUpload(label: str, button: str, event_upload: Callable[[dict], None] | None = None):
    pass


@solara.component_vue("control.vue")
def SliderControl(
    label: str,
    slug: str,
    value: float,
    shown: str,
    typed: str,
    low: float,
    high: float,
    step: float,
    unit: str,
    range: str,
    why: str,
    bound: str,
    source: str,
    idle: str,
    error: str,
    event_set_value: Callable[[Any], None] | None = None,
    event_typed_value: Callable[[Any], None] | None = None,
):
    pass


@solara.component_vue("chart.vue")
def EChart(option: dict, version: str, height: int = CHART_HEIGHT):
    pass


def _heading(text: str) -> None:
    """A section heading (plain HTML: Solara's Markdown would load a maths renderer the page does not need)."""
    solara.HTML(tag="h3", unsafe_innerHTML=html.escape(text), style="margin: 12px 0 4px 0; font-weight: 500")


def _number(value: float, unit: str = "", *, signed: bool = False, integer: bool = False) -> str:
    text = wb.format_number(value, signed=signed, integer=integer)
    return text if text == "–" or not unit else f"{text} {unit}".replace(" %", "%")


def _slug(key: str) -> str:
    return "ctl-" + key.replace(".", "--").replace(":", "--").replace(" ", "_")


# ---------------------------------------------------------------------------------------------------------
# controls
# ---------------------------------------------------------------------------------------------------------
@solara.component
def ControlInput(
    control: wb.Control, lang: str, value: Any, on_change: Callable[[str, Any], None], error: str, idle: bool
):
    w = words(lang)
    label = control.label(lang)
    slug = _slug(control.key)
    if control.kind in ("choice", "year"):
        with solara.Div(classes=[slug, "lsim-control"]):
            if control.kind == "choice":
                by_label = {control.choice_label(c, lang): c for c in control.choices}
                solara.Select(
                    label,
                    values=list(by_label),
                    value=control.choice_label(value, lang),
                    on_value=lambda v: on_change(control.key, by_label.get(v, v)),
                    dense=True,
                )
            else:
                solara.Select(
                    label,
                    values=list(range(int(control.low), int(control.high) + 1)),
                    value=int(value),
                    on_value=lambda v: on_change(control.key, v),
                    dense=True,
                )
            solara.Text(control.explain(lang), classes=["lsim-muted"])
            with solara.Div():
                if error:
                    solara.Error(error, dense=True)
        return
    scale = 100.0 if control.percent else 1.0
    typed = f"{float(value) * scale:.6g}" if not control.integer else str(int(value))

    def typed_value(text: Any) -> None:
        try:
            number = float(text) / scale
        except (TypeError, ValueError):
            number = text  # refused with the reason by the control's check
        on_change(control.key, number)

    SliderControl(
        label=label,
        slug=slug,
        value=float(value),
        shown=control.display(value, lang),
        typed=typed,
        low=float(control.low),
        high=float(control.high),
        step=float(control.step),
        unit=control.unit(lang),
        range=w["range"].format(low=control.display(control.low, lang), high=control.display(control.high, lang)),
        why=control.explain(lang),
        bound=control.bound.get(lang, ""),
        source=(w["source"] + control.source_text(lang)) if control.source else "",
        idle=control.idle.get(lang, "") if idle else "",
        error=error,
        event_set_value=lambda v: on_change(control.key, v),
        event_typed_value=typed_value,
    )


@solara.component
def Controls(ctrls: list[wb.Control], current: dict, lang: str, on_change, errors: dict, built):
    w = words(lang)
    groups: dict[str, list[wb.Control]] = {}
    for c in ctrls:
        groups.setdefault(c.group, []).append(c)
    levers = wb.lever_labels(lang)
    names = {
        "run": w["group_run"],
        "price": w["group_price"],
        "demand": w["group_demand"],
        "projects": w["group_projects"],
        wb.NEIGHBOURS_GROUP: w["group_neighbours"],
        **levers,
    }
    # a neighbour's levers stay folded away unless the scenario sets some (from its file or the controls)
    bidding = built is not None and bool(built.policy.clusters)
    for group, items in groups.items():
        open_ = group in ("price", "demand", "energy_support", "investment_support", "tax_relief")
        open_ = open_ or (group == wb.NEIGHBOURS_GROUP and bidding)
        with solara.Details(summary=names.get(group, group), expand=open_):
            for c in items:
                if c.cluster and c.cluster != current.get(wb.NEIGHBOUR):
                    continue  # another neighbour's: shown when that neighbour is chosen
                idle = built is not None and not c.acts(built)
                ControlInput(c, lang, current[c.key], on_change, errors.get(c.key, ""), idle)


# ---------------------------------------------------------------------------------------------------------
# results
# ---------------------------------------------------------------------------------------------------------
def _table_html(frame: pd.DataFrame, css: str = "lsim-table") -> str:
    return frame.to_html(index=False, classes=css, border=0, escape=True, na_rep="–")


def _integer_unit(unit: str) -> bool:
    return unit in ("persons", "t", "t LCE")


def _differences_frame(table: pd.DataFrame, years: list[int], lang: str) -> pd.DataFrame:
    w = words(lang)
    d = wb.differences(table, years)
    if d.empty:
        return d
    rows = []
    for r in d.itertuples(index=False):
        whole = _integer_unit(r.unit)
        band = "–" if pd.isna(r.p05) else f"{_number(r.p05, integer=whole)} – {_number(r.p95, integer=whole)}"
        rows.append(
            {
                w["col_indicator"]: metric_name(lang, r.metric),
                w["col_segment"]: segment_label(lang, r.segment),
                w["col_unit"]: unit_label(lang, r.unit),
                w["col_year"]: int(r.year),
                w["col_baseline"]: _number(r.baseline, integer=whole),
                w["col_scenario"]: _number(r.scenario, integer=whole),
                w["col_band"]: band,
                w["col_diff"]: _number(r.diff_mean, signed=True, integer=whole),
                w["col_diff_pct"]: "–"
                if pd.isna(r.diff_pct) or not math.isfinite(r.diff_pct)
                else f"{r.diff_pct:+.1f}%",
            }
        )
    return pd.DataFrame(rows)


def _scoreboard_frame(base, scenario, lang: str) -> pd.DataFrame:
    w = words(lang)
    rows = []
    for metric in wb.SCOREBOARD_ROWS:
        for label, result in ((w["baseline"], base), (w["scenario"], scenario)):
            s = wb.with_net_fiscal(result.summary)
            sel = s[(s.region == "suining") & (s.segment == "all") & (s.metric == metric)].set_index("year")
            if sel.empty:
                continue
            row = {
                w["col_indicator"]: metric_name(lang, metric),
                w["col_unit"]: unit_label(lang, sel["unit"].iloc[0]),
                "": label,
            }
            row.update({str(y): _number(v) for y, v in sel["mean"].items() if y >= 2023})
            rows.append(row)
    return pd.DataFrame(rows)


def _against(base, lang: str) -> str:
    """Which baseline the scenario is read against, and in which price mode."""
    w = words(lang)
    mode = w["mode_" + base.scenario.price_mode]
    return w["against"].format(name=base.scenario.label(lang), mode=mode)


@solara.component
def Headline(key: tuple, base, scen, lang: str, last: int):
    w = words(lang)
    b, s = solara.use_memo(lambda: (wb.headline(base, last), wb.headline(scen, last)), [key])
    solara.Text(w["headline"].format(year=last), style={"font-weight": "500"})
    with solara.Div(classes=["lsim-headline"]):
        for name, field, unit in (
            ("output_value", "output_value.all", "亿元"),
            ("value_added", "value_added.all", "亿元"),
            ("lfp_share", "national_share.lfp_cathode", "%"),
            ("employment", "employment.all", ""),
        ):
            whole = name == "employment"
            delta = s[field] - b[field]
            delta_unit = w["points"] if unit == "%" else unit
            change = html.escape(_number(delta, delta_unit, signed=True, integer=whole))
            with solara.Div(classes=["lsim-card", f"headline-{name}"]):
                solara.Text(w[name], classes=["lsim-muted"])
                solara.HTML(
                    tag="div",
                    unsafe_innerHTML=f'<span class="lsim-base">{html.escape(_number(b[field], unit, integer=whole))}'
                    f'</span> → <span class="lsim-value lsim-scenario">'
                    f"{html.escape(_number(s[field], unit, integer=whole))}</span>"
                    f'<div class="lsim-delta">{change}</div>',
                )
    money = solara.use_memo(lambda: wb.fiscal(base, scen, last), [key])
    first = int(scen.summary["year"].min())
    solara.Text(w["fiscal_headline"].format(first=first, last=last), style={"font-weight": "500"})
    with solara.Div(classes=["lsim-headline", "lsim-fiscal"]):
        for name, value in (("support", money["support_extra"]), ("revenue_gain", money["revenue_gain"]),
                            ("net", money["net"])):  # fmt: skip
            negative = value < 0 if name != "support" else False
            with solara.Div(classes=["lsim-card", f"fiscal-{name}"]):
                solara.Text(w["fiscal_" + name], classes=["lsim-muted"])
                solara.HTML(
                    tag="div",
                    unsafe_innerHTML=f'<span class="lsim-value{" lsim-negative" if negative else ""}">'
                    f"{html.escape(_number(value, '亿元', signed=name != 'support'))}</span>",
                )
    solara.Text(w["fiscal_note"], classes=["lsim-muted"])
    years, shares = solara.use_memo(lambda: wb.new_capacity_shares(base, scen), [key])
    solara.Text(w["capacity_headline"].format(years=span(years)), style={"font-weight": "500"})
    with solara.Div(classes=["lsim-headline", "lsim-capacity"]):
        for segment, (before, after) in shares.items():
            change = html.escape(_number(after - before, w["points"], signed=True))
            with solara.Div(classes=["lsim-card", f"headline-new_capacity_share-{segment}"]):
                solara.Text(segment_label(lang, segment), classes=["lsim-muted"])
                solara.HTML(
                    tag="div",
                    unsafe_innerHTML=f'<span class="lsim-base">{html.escape(_number(before, "%"))}</span> → '
                    f'<span class="lsim-value lsim-scenario">{html.escape(_number(after, "%"))}</span>'
                    f'<div class="lsim-delta">{change}</div>',
                )
    solara.Text(w["capacity_note"], classes=["lsim-muted"])


def _chart_labels(base, scen, lang: str) -> list[str]:
    w = words(lang)
    colon = "：" if lang == "zh" else ": "
    return [
        f"{w['baseline_label']}{colon}{base.scenario.label(lang)}",
        f"{w['scenario_label']}{colon}{scen.scenario.label(lang)}",
    ]


@solara.component
def Charts(key: tuple, base, scen, lang: str):
    labels = _chart_labels(base, scen, lang)
    b, s = wb.with_net_fiscal(base.summary), wb.with_net_fiscal(scen.summary)
    if COLD:  # as before: pictures drawn on the server (COLD is fixed for the server's life)
        pictures = solara.use_memo(lambda: _drawn(app_charts.all_charts, b, s, labels, lang), [key, lang])  # noqa: SH102
        for name, image in pictures.items():
            with solara.Div(classes=["lsim-chart", f"chart-{name}"], attributes={"data-drawn": _version(key, lang)}):
                solara.Image(image, format="png")
        return
    names = {"net_fiscal": metric_name(lang, "net_fiscal")}

    def options_of() -> dict[str, dict]:
        bi, si = app_charts.indexed(b), app_charts.indexed(s)
        return {n: app_charts.echarts_option(n, bi, si, labels, lang, names) for n in app_charts.CHARTS}

    options = solara.use_memo(options_of, [key, lang])  # noqa: SH101 (COLD is fixed for the server's life)
    band = words(lang)["band"]
    for name, option in options.items():
        solara.Text(app_charts.titled(name, lang, band), classes=["lsim-chart-title", f"chart-title-{name}"])
        with solara.Div(classes=["lsim-chart", f"chart-{name}"]):
            EChart(option=option, version=_version(key, lang))


def _version(key: tuple, lang: str) -> str:
    return f"{abs(hash((key, lang))):x}"


@solara.component
def Results(result, lang: str, stale: bool):
    w = words(lang)
    scenario, base, scen, table = result
    years = scenario.years
    chosen_years, set_years = solara.use_state([y for y in (2025, years[-1]) if y in years])
    key = (wb.fingerprint(base.scenario), wb.fingerprint(scenario), base.meta["replicates"])
    last = years[-1]
    toml_text = solara.use_memo(
        lambda: scenario_toml(scenario, header="Written by the Suining lithium workbench."), [key]
    )
    if not COLD and not os.environ.get(
        "H21A_NOPREP"
    ):  # the downloads start now, on the drawing thread; a click finds them ready
        _prepared("xlsx", base, scen, lang, toml_text, table)
        _prepared("zip", base, scen, lang, toml_text, table)
    with solara.Div():
        if stale:
            solara.Info(w["stale"], dense=True)
    solara.HTML(
        tag="div",
        unsafe_innerHTML=html.escape(_against(base, lang)),
        classes=["lsim-against"],
        attributes={"data-version": _version(key, lang)},
    )
    Headline(key, base, scen, lang, last)
    with solara.Row(style={"flex-wrap": "wrap", "align-items": "center"}):
        solara.Text(w["downloads"] + ("：" if lang == "zh" else ":"))
        solara.FileDownload(
            lambda: _download("zip", base, scen, lang, toml_text, table),
            filename=f"{scenario.name}-runs.zip",
            label=w["download_zip"],
            mime_type="application/zip",
        )
        solara.FileDownload(
            lambda: _download("xlsx", base, scen, lang, toml_text, table),
            filename=f"{scenario.name}-comparison.xlsx",
            label=w["download_xlsx"],
            mime_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
        solara.FileDownload(
            toml_text, filename=f"{scenario.name}.toml", label=w["download_toml"], mime_type="application/toml"
        )
    _heading(w["charts"])
    Charts(key, base, scen, lang)
    _heading(w["differences"])
    solara.SelectMultiple(w["years"], values=chosen_years, all_values=years, on_value=set_years, dense=True)
    Tables(key, table, base, scen, lang, tuple(sorted(chosen_years)))


@solara.component
def Tables(key: tuple, table, base, scen, lang: str, years: tuple):
    """The differences and the scoreboard, made in a thread after the headline and charts are on screen."""
    w = words(lang)

    def make() -> tuple[str, str]:
        return _table_html(_differences_frame(table, list(years), lang)), _table_html(
            _scoreboard_frame(base, scen, lang)
        )

    task = solara.lab.use_task(make, dependencies=[key, lang, years])
    made = task.value if task.finished and task.value is not None else task.latest
    differences, scores = made if made is not None else ("", "")
    solara.HTML(tag="div", unsafe_innerHTML=differences, classes=["lsim-differences"])
    _heading(w["scoreboard"])
    solara.HTML(tag="div", unsafe_innerHTML=scores, classes=["lsim-scores"])


@solara.component
def ResultsPane(wanted, replicates: int, lang: str):
    """The run of the scenario the controls describe, beside its baseline: made at once when they change (the
    baseline from the cache). Its own component, so that a run starting and finishing redraws the results only,
    never the controls."""
    w = words(lang)
    wanted_key = (wb.fingerprint(wanted) if wanted is not None else "", replicates)

    def work():
        if wanted is None:
            return None
        base, scen = wb.run_pair(wanted, replicates, WORKERS)
        return wanted, base, scen, wb.comparison(base, scen)

    task = solara.lab.use_task(work, dependencies=[wanted_key])
    with solara.Div():
        if task.error:
            solara.Error(f"{w['error']}: {task.exception}")
    result = task.value if task.finished and task.value is not None else task.latest
    if result is None:
        solara.Info(w["no_run"])
        solara.ProgressLinear(True, classes=["run-progress"])
        return
    stale = wanted is not None and wb.fingerprint(wanted) != wb.fingerprint(result[0])
    Results(result, lang, stale)


# ---------------------------------------------------------------------------------------------------------
# scenario discovery
# ---------------------------------------------------------------------------------------------------------
def _explore_pictures(result: Exploration, lang: str) -> dict[str, bytes]:
    out = Path(_TMP.name) / f"explore-{id(result)}-{lang}"
    if not (out / "explore.json").is_file():
        _drawn(lambda: result.save(out, lang=lang, force=True))
    pictures = {}
    for side in ("holds", "fails"):
        for name in ("box_scatter.png", "box_limits.png"):
            path = out / side / name
            if path.is_file():
                pictures[f"{side}/{name}"] = path.read_bytes()
    return pictures


DEFAULT_QUESTION = "revenue_1000"  # holds in some draws and fails in others: there is something to discover


def _interval(sure, column: str) -> str:
    median, low, high = sure.interval(column)
    return "–" if not math.isfinite(median) else f"{median:.0%} ({low:.0%}–{high:.0%})"


@solara.component
def Discovery(lang: str, current: Callable[[], Any]):
    w = words(lang)
    question, set_question = solara.use_state(DEFAULT_QUESTION)
    samples, set_samples = solara.use_state(120)
    replicates, set_replicates = solara.use_state(10)
    use_current, set_use_current = solara.use_state(False)

    def work():
        target = parse_target(question)
        scenario = current() if use_current else wb.load_library(NAMED_TARGETS[question].scenario)

        def progress(done: int, total: int) -> None:
            task.progress = 100.0 * done / total

        return explore(scenario, target, int(samples), replicates=int(replicates), workers=WORKERS, progress=progress)

    task = solara.lab.use_task(work, dependencies=None)
    solara.Text(w["discovery_intro"])
    with solara.Row(style={"flex-wrap": "wrap", "align-items": "center"}):
        questions = {
            (t.question_zh if lang == "zh" else f"{key}: {t.question_en}"): key for key, t in NAMED_TARGETS.items()
        }
        solara.Select(
            w["question"],
            values=list(questions),
            value=next(k for k, v in questions.items() if v == question),
            on_value=lambda v: set_question(questions.get(v, question)),
            classes=["discovery-question"],
        )
        solara.InputInt(
            w["samples"],
            value=samples,
            on_value=lambda v: set_samples(min(max(int(v or 1), 8), 2000)),
            classes=["discovery-samples"],
        )
        solara.InputInt(
            w["disc_replicates"],
            value=replicates,
            on_value=lambda v: set_replicates(min(max(int(v or 1), 1), 20)),
            classes=["discovery-replicates"],
        )
        solara.Button(w["explore"], on_click=task, disabled=task.pending, color="primary", classes=["explore-button"])
    named = NAMED_TARGETS[question]
    asked = w["asked_of"].format(name=wb.library_label(named.scenario, lang))
    # the target's expression is what `lithium-sim explore --target` takes; in Chinese the question says it
    solara.Text(asked if lang == "zh" else f"{named.expression} — {asked}", classes=["lsim-muted"])
    solara.Checkbox(label=w["use_current"], value=use_current, on_value=set_use_current)
    solara.Text(w["discovery_note"], classes=["lsim-muted"])
    if task.pending:
        solara.ProgressLinear(task.progress if task.progress is not None else True)
    if task.error:
        solara.Error(str(task.exception))
    result = task.value if task.finished else None
    pictures = solara.use_memo(
        lambda: _explore_pictures(result, lang) if result is not None else {}, [id(result), lang]
    )
    if result is None:
        return
    ok = int(result.ok.sum())
    solara.Success(w["holds_in"].format(k=int(result.holds.sum()), n=ok), classes=["discovery-summary"])
    for caveat in result.caveats:
        solara.Warning(caveat.text(lang), classes=["discovery-caveat", f"caveat-{caveat.key}"])
    for side in ("holds", "fails"):
        sure = result.sure(side)
        _heading(w["where_" + side])
        if sure is None:
            values = result.figures.loc[result.ok, result.target.clauses[0].column]
            text = w["never"].format(value=_number(values.max())) if side == "holds" else w["always"]
            solara.Text(text)
            continue
        stats = sure.result.chosen_stats
        solara.HTML(
            tag="div", unsafe_innerHTML=f"<b>{html.escape(result.box_words(side, lang))}</b>", classes=[f"box-{side}"]
        )
        solara.Text(
            w["stats"].format(coverage=stats["coverage"], density=stats["density"], mass=stats["mass"], verb=w[side]),
            classes=["lsim-muted"],
        )
        solara.Text(
            w["resampled"].format(
                n=len(sure.resamples),
                coverage=_interval(sure, "coverage_out_of_bag"),
                density=_interval(sure, "density_out_of_bag"),
            ),
            classes=["lsim-muted", f"resampled-{side}"],
        )
        if sure.dropped_inputs:
            solara.Text(
                w["dropped"].format(names=result.dropped_words(side, lang), alpha=sure.alpha),
                classes=["lsim-muted", f"dropped-{side}"],
            )
        with solara.Row(style={"flex-wrap": "wrap"}):
            for name in ("box_scatter.png", "box_limits.png"):
                image = pictures.get(f"{side}/{name}")
                if image is not None:
                    with solara.Div(classes=["lsim-chart"], style={"max-width": "48%"}):
                        solara.Image(image, format="png")


# ---------------------------------------------------------------------------------------------------------
# the page
# ---------------------------------------------------------------------------------------------------------
@solara.component
def Page():
    router = solara.use_router()
    initial = solara.use_memo(lambda: wb.decode_query(router.search), [])
    view0, problems0 = initial
    lang = solara.use_reactive(view0.lang)
    library_name = solara.use_reactive(view0.scenario)
    uploaded = solara.use_reactive((view0.uploaded, view0.uploaded_name))
    values = solara.use_reactive(dict(view0.values))
    replicates = solara.use_reactive(view0.replicates)
    tab = solara.use_reactive(view0.tab)
    errors = solara.use_reactive({})
    upload_error = solara.use_reactive("")
    w = words(lang.value)

    def load_start():
        return wb.View(scenario=library_name.value, uploaded=uploaded.value[0], uploaded_name=uploaded.value[1]).start()

    start = solara.use_memo(load_start, [library_name.value, uploaded.value])
    ctrls = solara.use_memo(lambda: wb.controls(start), [library_name.value, uploaded.value])
    start_values = solara.use_memo(lambda: wb.defaults(start), [library_name.value, uploaded.value])
    current_values = {**start_values, **values.value}

    def current_scenario():
        return wb.build(start, values.value)

    try:
        wanted = current_scenario()
        build_error = ""
    except InputError as err:
        wanted, build_error = None, err.message

    def sync_url():
        view = wb.View(
            scenario=library_name.value,
            uploaded=uploaded.value[0],
            uploaded_name=uploaded.value[1],
            values=wb.changes(start, values.value) if wanted is not None else {},
            replicates=int(replicates.value),
            lang=lang.value,
            tab=int(tab.value),
        )
        query = wb.encode_query(view)
        if (router.search or "") != query:
            router.push(f"{router.path or '/'}{'?' + query if query else ''}")

    solara.use_effect(
        sync_url, [library_name.value, uploaded.value, values.value, replicates.value, lang.value, tab.value]
    )

    def on_change(key: str, value: Any) -> None:
        control = next(c for c in ctrls if c.key == key)
        try:
            checked = control.check(value)
        except InputError as err:
            errors.set({**errors.value, key: err.message})
            return
        errors.set({k: v for k, v in errors.value.items() if k != key})
        values.set({**values.value, key: checked})

    def on_upload(data: dict) -> None:
        name = str(data.get("name") or "uploaded.toml")[:200]
        text = data.get("text")
        if not isinstance(text, str):
            upload_error.set(f"in {name}: cannot be read as UTF-8 text of at most 4 MB")
            return
        try:
            wb.View(uploaded=text, uploaded_name=name).start()
        except Exception as err:  # an upload always says what became of it; a bug is logged, never shown
            upload_error.set(failure_message(err))
            return
        upload_error.set("")
        errors.set({})
        values.set({})
        uploaded.set((text, name))

    def choose_library(name: str) -> None:
        errors.set({})
        values.set({})
        upload_error.set("")
        uploaded.set((None, "uploaded.toml"))
        library_name.set(name)

    solara.Style(STYLE)
    solara.Title(w["title"])
    with solara.AppBar():
        solara.Button(
            w["language"],
            on_click=lambda: lang.set("en" if lang.value == "zh" else "zh"),
            text=True,
            classes=["language-switch"],
        )
    with solara.Sidebar():
        solara.Text(w["start"], style={"font-weight": "500", "display": "block", "margin-bottom": "14px"})
        choices = wb.library_choices(lang.value)
        shown = {name: label for label, name in choices.items()}
        solara.Select(
            w["library"],
            values=list(choices),
            value=shown.get(library_name.value) if uploaded.value[0] is None else None,
            on_value=lambda label: choose_library(choices.get(label, library_name.value)),
            dense=True,
        )
        TomlUpload(label=w["upload_button"], button=w["upload_choose"], event_upload=on_upload)
        # what appears and goes sits in a container that is always there, so the controls below keep their
        # widgets (a child appearing before them would make every control be built again)
        with solara.Div():
            if uploaded.value[0] is not None:
                solara.Text(w["uploaded"].format(name=uploaded.value[1]), classes=["uploaded-name"])
            if upload_error.value:
                solara.Error(upload_error.value, classes=["upload-error"])
        solara.InputInt(
            w["replicates"],
            value=int(replicates.value),
            on_value=lambda v: replicates.set(min(max(int(v or 1), 1), wb.MAX_REPLICATES)),
            dense=True,
            continuous_update=False,
        )
        changed = wb.changes(start, values.value) if wanted is not None else values.value
        n_changed = len(set(changed) - set(wb.VIEW_ONLY))  # choosing a neighbour changes what shows, not the scenario
        solara.Text(w["changed"].format(n=n_changed) if n_changed else w["unchanged"], classes=["lsim-muted"])
        solara.Button(w["reset"], on_click=lambda: (values.set({}), errors.set({})), text=True, dense=True)
        with solara.Div():
            if build_error:
                solara.Error(build_error)
        Controls(ctrls, current_values, lang.value, on_change, errors.value, wanted)
    with solara.Column():
        for problem in problems0:
            solara.Warning(f"{w['ignored']}: {problem}", dense=True)
        with solara.lab.Tabs(value=tab.value, on_value=tab.set):
            with solara.lab.Tab(w["tab_results"]):
                ResultsPane(wanted, int(replicates.value), lang.value)
            with solara.lab.Tab(w["tab_discovery"]):
                with solara.Div(classes=["discovery"]):
                    Discovery(lang.value, current_scenario)
