"""The workbench page (Solara): a starting scenario and the controls on the left; results and scenario discovery
on the right. The page holds the view; `sim.app.workbench` does the work.

Served by `sim.app.server` (``lithium-sim app``); everything the page loads comes from this machine.
"""

from __future__ import annotations

import concurrent.futures
import html
import math
import os
import tempfile
import threading
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
from sim.app.words import words
from sim.discovery.explore import Exploration, explore
from sim.discovery.targets import NAMED_TARGETS, parse_target
from sim.outputs.labels import metric_label, segment_label, unit_label

WORKERS = max(1, int(os.environ.get("LITHIUM_SIM_APP_WORKERS", "1") or 1))
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
.lsim-headline {{ display: flex; flex-wrap: wrap; gap: 12px; margin: 4px 0 8px 0; }}
.lsim-card {{ border: 1px solid #ddd; border-radius: 6px; padding: 6px 10px; min-width: 190px; }}
.lsim-card .lsim-value {{ font-size: 1.25em; font-weight: 500; }}
.lsim-muted {{ color: #666; font-size: 0.85em; }}
.lsim-range {{ display: block; margin: 0 0 16px 0; }}
.lsim-chart img {{ max-width: 100%; }}
"""
_TMP = tempfile.TemporaryDirectory(prefix="lithium-sim-app-")  # removed when the server exits
# Matplotlib work (charts, the workbook, run directories) runs on one thread outside any browser session: Solara
# scopes matplotlib's settings per session, which makes drawing within a session several times slower, and
# one thread keeps pyplot's figures from meeting.
_DRAWING = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="lithium-sim-drawing")


def _drawn(fn: Callable[..., Any], *args: Any) -> Any:
    """``fn(*args)`` on the drawing thread."""
    return _DRAWING.submit(fn, *args).result()


_CHARTS: dict[tuple, dict[str, bytes]] = {}
_CHARTS_LOCK = threading.Lock()


@solara.component_vue("upload.vue")
def TomlUpload(label: str, event_upload: Callable[[dict], None] | None = None):
    pass


def _heading(text: str) -> None:
    """A section heading (plain HTML: Solara's Markdown would load a maths renderer the page does not need)."""
    solara.HTML(tag="h3", unsafe_innerHTML=html.escape(text), style="margin: 12px 0 4px 0; font-weight: 500")


def _number(value: float, unit: str = "") -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    if abs(value) >= 1000:
        text = f"{value:,.0f}"
    elif abs(value) >= 100:
        text = f"{value:,.1f}"
    else:
        text = f"{value:.3g}"
    return f"{text} {unit}".strip()


def _charts(key: tuple, base, scenario, lang: str) -> dict[str, bytes]:
    with _CHARTS_LOCK:
        cached = _CHARTS.get((key, lang))
    if cached is None:
        labels = [f"{base.scenario.name} ({words(lang)['baseline']})", scenario.scenario.name]
        cached = _drawn(app_charts.all_charts, base.summary, scenario.summary, labels, lang)
        with _CHARTS_LOCK:
            _CHARTS[(key, lang)] = cached
            while len(_CHARTS) > 24:
                _CHARTS.pop(next(iter(_CHARTS)))
    return cached


# ---------------------------------------------------------------------------------------------------------
# controls
# ---------------------------------------------------------------------------------------------------------
@solara.component
def ControlInput(control: wb.Control, lang: str, value: Any, on_change: Callable[[str, Any], None], error: str):
    label = control.label(lang)
    unit = control.unit(lang)
    slug = "ctl-" + control.key.replace(".", "--").replace(":", "--").replace(" ", "_")
    with solara.Div(classes=[slug]):
        if control.kind == "choice":
            by_label = {control.choice_label(c, lang): c for c in control.choices}
            solara.Select(
                label,
                values=list(by_label),
                value=control.choice_label(value, lang),
                on_value=lambda v: on_change(control.key, by_label.get(v, v)),
                dense=True,
            )
        elif control.kind == "year":
            solara.Select(
                label,
                values=list(range(int(control.low), int(control.high) + 1)),
                value=int(value),
                on_value=lambda v: on_change(control.key, v),
                dense=True,
            )
        else:
            solara.InputFloat(
                label,
                value=float(value),
                on_value=lambda v: on_change(control.key, v),
                continuous_update=False,
                dense=True,
                suffix=unit,
            )
            solara.Text(
                words(lang)["range"].format(low=f"{control.low:g}", high=f"{control.high:g}"),
                classes=["lsim-muted", "lsim-range"],
            )
        if error:
            solara.Error(error, dense=True)


@solara.component
def Controls(ctrls: list[wb.Control], current: dict, lang: str, on_change, errors: dict):
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
        **levers,
    }
    for group, items in groups.items():
        open_ = group in ("run", "price", "demand") or len(items) <= 3
        with solara.Details(summary=names.get(group, group), expand=open_):
            for c in items:
                ControlInput(c, lang, current[c.key], on_change, errors.get(c.key, ""))


# ---------------------------------------------------------------------------------------------------------
# results
# ---------------------------------------------------------------------------------------------------------
def _table_html(frame: pd.DataFrame, css: str = "lsim-table") -> str:
    return frame.to_html(index=False, classes=css, border=0, escape=True, na_rep="–")


def _differences_frame(table: pd.DataFrame, years: list[int], lang: str) -> pd.DataFrame:
    w = words(lang)
    d = wb.differences(table, years)
    if d.empty:
        return d
    return pd.DataFrame(
        {
            w["col_indicator"]: [metric_label(lang, m) for m in d.metric],
            w["col_segment"]: [segment_label(lang, s) for s in d.segment],
            w["col_unit"]: [unit_label(lang, u) for u in d.unit],
            w["col_year"]: d.year.astype(int),
            w["col_baseline"]: [_number(v) for v in d.baseline],
            w["col_scenario"]: [_number(v) for v in d.scenario],
            w["col_band"]: [f"{_number(a)} – {_number(b)}" for a, b in zip(d.p05, d.p95, strict=True)],
            w["col_diff"]: [_number(v) for v in d.diff_mean],
            w["col_diff_pct"]: ["–" if pd.isna(v) else f"{v:+.1f}%" for v in d.diff_pct],
        }
    )


def _scoreboard_frame(base, scenario, lang: str) -> pd.DataFrame:
    w = words(lang)
    rows = []
    for metric in wb.SCOREBOARD_ROWS:
        for label, result in ((w["baseline"], base), (w["scenario"], scenario)):
            s = result.summary
            sel = s[(s.region == "suining") & (s.segment == "all") & (s.metric == metric)].set_index("year")
            if sel.empty:
                continue
            row = {
                w["col_indicator"]: metric_label(lang, metric),
                w["col_unit"]: unit_label(lang, sel["unit"].iloc[0]),
                "": label,
            }
            row.update({str(y): _number(v) for y, v in sel["mean"].items() if y >= 2023})
            rows.append(row)
    return pd.DataFrame(rows)


@solara.component
def Results(result, lang: str, stale: bool):
    w = words(lang)
    scenario, base, scen, table = result
    years = scenario.years
    chosen_years, set_years = solara.use_state([y for y in (2025, years[-1]) if y in years])
    key = (wb.fingerprint(base.scenario), wb.fingerprint(scenario), base.meta["replicates"])
    pictures = solara.use_memo(lambda: _charts(key, base, scen, lang), [key, lang])
    last = years[-1]
    b, s = wb.headline(base, last), wb.headline(scen, last)
    if stale:
        solara.Warning(w["stale"], dense=True)
    solara.Text(w["headline"].format(year=last), style={"font-weight": "500"})
    with solara.Div(classes=["lsim-headline"]):
        for name, field, unit in (
            ("output_value", "output_value.all", "亿元"),
            ("value_added", "value_added.all", "亿元"),
            ("lfp_share", "national_share.lfp_cathode", "%"),
            ("employment", "employment.all", ""),
        ):
            with solara.Div(classes=["lsim-card", f"headline-{name}"]):
                solara.Text(w[name], classes=["lsim-muted"])
                solara.HTML(
                    tag="div",
                    unsafe_innerHTML=f'<span class="lsim-base">{html.escape(_number(b[field], unit))}</span> → '
                    f'<span class="lsim-value lsim-scenario">{html.escape(_number(s[field], unit))}</span>',
                )
    with solara.Row(style={"flex-wrap": "wrap", "align-items": "center"}):
        solara.Text(w["downloads"] + ":")
        toml_text = scenario_toml(scenario, header="Written by the Suining lithium workbench.")
        solara.FileDownload(
            lambda: _drawn(wb.runs_zip, base, scen, lang, toml_text),
            filename=f"{scenario.name}-runs.zip",
            label=w["download_zip"],
            mime_type="application/zip",
        )
        solara.FileDownload(
            lambda: _drawn(wb.workbook, base, scen, lang),
            filename=f"{scenario.name}-comparison.xlsx",
            label=w["download_xlsx"],
            mime_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
        solara.FileDownload(
            toml_text, filename=f"{scenario.name}.toml", label=w["download_toml"], mime_type="application/toml"
        )
    _heading(w["charts"])
    for name, image in pictures.items():
        with solara.Div(classes=["lsim-chart", f"chart-{name}"]):
            solara.Image(image, format="png")
    _heading(w["differences"])
    solara.SelectMultiple(w["years"], values=chosen_years, all_values=years, on_value=set_years, dense=True)
    frame = _differences_frame(table, sorted(chosen_years), lang)
    solara.HTML(tag="div", unsafe_innerHTML=_table_html(frame), classes=["lsim-differences"])
    _heading(w["scoreboard"])
    solara.HTML(tag="div", unsafe_innerHTML=_table_html(_scoreboard_frame(base, scen, lang)), classes=["lsim-scores"])


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


@solara.component
def Discovery(lang: str, current: Callable[[], Any]):
    w = words(lang)
    question, set_question = solara.use_state("lfp_share_15")
    samples, set_samples = solara.use_state(40)
    replicates, set_replicates = solara.use_state(4)
    use_current, set_use_current = solara.use_state(False)

    def work():
        target = parse_target(question)
        scenario = current() if use_current else wb.load_library(NAMED_TARGETS[question].scenario)

        def progress(done: int, total: int) -> None:
            task.progress = 100.0 * done / total

        return explore(scenario, target, int(samples), replicates=int(replicates), workers=1, progress=progress)

    task = solara.lab.use_task(work, dependencies=None)
    solara.Text(w["discovery_intro"])
    with solara.Row(style={"flex-wrap": "wrap", "align-items": "center"}):
        questions = {
            f"{key}: {(t.question_zh if lang == 'zh' else t.question_en)}": key for key, t in NAMED_TARGETS.items()
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
            on_value=lambda v: set_samples(min(max(int(v or 1), 8), 400)),
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
    solara.Text(
        f"{named.expression} — {w['asked_of'].format(name=named.scenario)}",
        classes=["lsim-muted"],
    )
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
    for side, box in (("holds", result.holds_box), ("fails", result.fails_box)):
        _heading(w["where_" + side])
        if box is None:
            values = result.figures.loc[result.ok, result.target.clauses[0].column]
            text = w["never"].format(value=_number(values.max())) if side == "holds" else w["always"]
            solara.Text(text)
            continue
        stats = box.chosen_stats
        solara.HTML(
            tag="div", unsafe_innerHTML=f"<b>{html.escape(result.box_words(side, lang))}</b>", classes=[f"box-{side}"]
        )
        solara.Text(
            w["stats"].format(coverage=stats["coverage"], density=stats["density"], mass=stats["mass"], verb=w[side]),
            classes=["lsim-muted"],
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

    def work():
        scenario = current_scenario()

        def progress(share: float) -> None:
            task.progress = 100.0 * share

        base, scen = wb.run_pair(scenario, int(replicates.value), WORKERS, progress=progress)
        table = wb.comparison(base, scen)
        return scenario, base, scen, table

    task = solara.lab.use_task(work, dependencies=None)
    solara.use_effect(lambda: task(), [])  # a link opens with its results

    def sync_url():
        view = wb.View(
            scenario=library_name.value,
            uploaded=uploaded.value[0],
            uploaded_name=uploaded.value[1],
            values=wb.changes(start, values.value),
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
        solara.Text(w["start"], style={"font-weight": "500"})
        solara.Select(
            w["library"],
            values=wb.library(),
            value=library_name.value if uploaded.value[0] is None else None,
            on_value=choose_library,
            dense=True,
        )
        TomlUpload(label=w["upload_button"], event_upload=on_upload)
        if uploaded.value[0] is not None:
            solara.Text(w["uploaded"].format(name=uploaded.value[1]), classes=["uploaded-name"])
        if upload_error.value:
            solara.Error(upload_error.value, classes=["upload-error"])
        with solara.Row(style={"align-items": "center"}):
            solara.InputInt(
                w["replicates"],
                value=int(replicates.value),
                on_value=lambda v: replicates.set(min(max(int(v or 1), 1), wb.MAX_REPLICATES)),
                dense=True,
            )
            solara.Button(
                w["run"],
                on_click=task,
                disabled=task.pending or wanted is None,
                color="primary",
                classes=["run-button"],
            )
        if task.pending:
            solara.ProgressLinear(task.progress if task.progress is not None else True, classes=["run-progress"])
        n_changed = len(wb.changes(start, values.value)) if wanted is not None else len(values.value)
        solara.Text(w["changed"].format(n=n_changed) if n_changed else w["unchanged"], classes=["lsim-muted"])
        solara.Button(w["reset"], on_click=lambda: (values.set({}), errors.set({})), text=True, dense=True)
        if build_error:
            solara.Error(build_error)
        Controls(ctrls, current_values, lang.value, on_change, errors.value)
    with solara.Column():
        for problem in problems0:
            solara.Warning(f"{w['ignored']}: {problem}", dense=True)
        with solara.lab.Tabs(value=tab.value, on_value=tab.set):
            with solara.lab.Tab(w["tab_results"]):
                if task.error:
                    solara.Error(f"{w['error']}: {task.exception}")
                result = task.value if task.finished else task.latest
                if result is None:
                    solara.Info(w["no_run"])
                else:
                    stale = wanted is not None and wb.fingerprint(wanted) != wb.fingerprint(result[0])
                    Results(result, lang.value, stale)
            with solara.lab.Tab(w["tab_discovery"]):
                with solara.Div(classes=["discovery"]):
                    Discovery(lang.value, current_scenario)
