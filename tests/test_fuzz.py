"""Fuzzing the command line with mutated scenario trees: whatever a scenario file holds, lithium-sim exits 0
or 2, never with a traceback, leaves no results directory after exit 2 and nothing hidden beside it, and
writes sound figures after exit 0.

It knows the ways found to break that promise: a link at the lock's name, texts built to make the parser
slow (a 20,000-deep dotted key, deep table headers), demand series without their levels, parameter files
that extend, and an unreachable scheduler.

The scenarios are the library's, mutated: keys deleted, renamed or added, values replaced by values of
other types, out of range, not finite, or months written in other digits or with a newline; ``extends``
chains of any length, cycles, and parents that are directories, named pipes, symbolic link loops, far
outside the scenario's folder or have names too long; parameter files likewise; and the files' bytes
re-encoded, truncated or corrupted. ``check`` runs on every case, ``run`` (one replicate, short runs
only) on those that pass, both in this process through `sim.cli.main`. A few cases go through a
subprocess, as a user would run them.

The normal budget is a few hundred cases; set LITHIUM_FUZZ_EXAMPLES for a larger one.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import math
import os
import re
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.cli import main
from sim.inputs.chain import DEFAULT_CHAIN
from sim.inputs.params import PARAMETERS
from sim.inputs.scenario import load_scenario
from sim.inputs.tomltext import toml_dumps
from tests.conftest import ROOT

pytestmark = pytest.mark.slow  # end to end: left out of `make test-fast`

LIBRARY = ROOT / "scenarios"
EXAMPLES = int(os.environ.get("LITHIUM_FUZZ_EXAMPLES", "0") or 0)
# the normal budget: enough to cross every kind of mutation a few times, in well under a minute
CHECK_EXAMPLES = EXAMPLES or 400
RUN_EXAMPLES = EXAMPLES // 4 or 60
RUN_MAX_MONTH = 47  # run (not just check) scenarios that end by 2025-12
RUN_MAX_FIRMS = 600  # ... and have at most this many synthetic firms


# ---------------------------------------------------------------------------------------------------------
# the scenarios to mutate
# ---------------------------------------------------------------------------------------------------------
def _short_baseline() -> str:
    """The baseline cut at December 2023: fast enough to run on every case that loads."""
    text = (LIBRARY / "baseline.toml").read_text(encoding="utf-8")
    text = "\n".join(line for line in text.splitlines() if not re.match(r'"202[4-9]-', line)) + "\n"
    return text.replace('end = "2030-12"', 'end = "2023-12"').replace('name = "baseline"', 'name = "fuzz"')


def _library_trees() -> list[dict[str, Any]]:
    trees = [tomllib.loads(_short_baseline())]
    for path in sorted(LIBRARY.glob("*.toml")):
        tree = tomllib.loads(path.read_text(encoding="utf-8"))
        if "extends" in tree:  # the mutated copy lives elsewhere: its parent is named by absolute path
            tree["extends"] = str(LIBRARY / tree["extends"])
        trees.append(tree)
    return trees


TREES = _library_trees()


# ---------------------------------------------------------------------------------------------------------
# writing TOML (the standard library only reads it)
# ---------------------------------------------------------------------------------------------------------
def dumps(tree: dict[str, Any]) -> str:
    return toml_dumps(tree)


def _is_table_array(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)


# ---------------------------------------------------------------------------------------------------------
# mutations
# ---------------------------------------------------------------------------------------------------------
LONG = "x" * 100_000
TRICKY = [
    0,
    -1,
    1,
    7,
    2**63,
    -(2**63),
    10**300,
    5.9,
    -0.0,
    1e308,
    math.inf,
    -math.inf,
    math.nan,
    0.5,
    1.5,
    "",
    " ",
    LONG,
    "2030-12",
    "2023-12",
    "2030-12\n",
    "２０３０-１２",
    "2030-13",
    "2022-00",
    "２０２２",
    "2022",
    "a\u0000b",
    "\u202eevil",
    "../../../etc/passwd",
    "/etc/passwd",
    "baseline.toml",
    "名字",
    "flat",
    "revert",
    "growth",
    "lithium_salt",
    True,
    False,
    [],
    [1, "a"],
    [[[]]],
    {},
    {"a": 1},
    {"2022": 1.0},
    {"2022-01": 1.0},
    dt.date(2030, 12, 1),
    dt.datetime(2023, 12, 1, 0, 0),
]
MONTHS = [
    "2022-01",
    "2023-12",
    "2030-12",
    "2050-12",
    "2051-12",
    "2023-06",
    "２０２３-１２",
    "2023-12\n",
    "2023-1",
    "23-12",
    " 2023-12",
    "2023-12 ",
    "2023–12",
    "0000-01",
    "9999-12",
]
INT_PARAMS = [name for name, d in PARAMETERS.items() if d.integer]


def _paths(tree: Any, prefix: tuple = ()) -> list[tuple]:
    """Every key path in a tree (into tables and arrays of tables)."""
    out = []
    if isinstance(tree, dict):
        for k, v in tree.items():
            out.append((*prefix, k))
            out += _paths(v, (*prefix, k))
    elif _is_table_array(tree):
        for i, v in enumerate(tree):
            out += _paths(v, (*prefix, i))
    return out


def _parent(tree: Any, path: tuple) -> Any:
    for part in path[:-1]:
        tree = tree[part]
    return tree


def _copy(tree: Any) -> Any:
    if isinstance(tree, dict):
        return {k: _copy(v) for k, v in tree.items()}
    if isinstance(tree, list):
        return [_copy(v) for v in tree]
    return tree


MILD = [0.1, 0.3, 2023, 5, 60, 200, 1000.0, 90000, "2023-06", "2023-12", "flat", "growth", "revert"]
PARAMETER_VALUES = [5, 60, 5.0, 5.9, math.inf, math.nan, -1, 10**300, 2.5e9, "60", True, 5000, 5001]


@st.composite
def mutated_tree(
    draw: st.DrawFn, trees: list[dict[str, Any]] = TREES, max_ops: int = 3, values: list[Any] = TRICKY
) -> dict[str, Any]:
    tree = _copy(draw(st.sampled_from(trees)))
    for _ in range(draw(st.sampled_from([0, 0, *range(1, max_ops + 1)]))):
        paths = _paths(tree)
        op = draw(st.sampled_from(["set", "delete", "add", "month", "parameter", "project", "rename"]))
        if op in ("set", "delete", "rename") and paths:
            path = draw(st.sampled_from(paths))
            parent = _parent(tree, path)
            if op == "set":
                parent[path[-1]] = _copy(draw(st.sampled_from(values)))
            elif op == "delete" and isinstance(parent, dict):
                del parent[path[-1]]
            elif op == "rename" and isinstance(parent, dict):
                name = draw(st.text(st.characters(blacklist_categories=("Cs",)), max_size=8))
                parent[name] = parent.pop(path[-1])
        elif op == "add":
            tables = [()] + [p for p in paths if isinstance(_parent(tree, p)[p[-1]], dict)]
            where = draw(st.sampled_from(tables))
            table = tree
            for part in where:
                table = table[part]
            table[draw(st.sampled_from(["colour", "extends", "seed", "end", "x.y", "2024", "from"]))] = _copy(
                draw(st.sampled_from(values))
            )
        elif op == "month":
            month_keys = [p for p in paths if p[-1] in ("start", "end", "from", "online", "shocks_from")]
            if month_keys:
                path = draw(st.sampled_from(month_keys))
                _parent(tree, path)[path[-1]] = draw(st.sampled_from(MONTHS))
            price = tree.get("carbonate_price")
            points = price.get("points") if isinstance(price, dict) else None
            if isinstance(points, dict) and points and draw(st.booleans()):
                first = next(iter(points))
                points[draw(st.sampled_from(MONTHS))] = points.pop(first)
        elif op == "parameter":
            name = draw(st.sampled_from([*INT_PARAMS, "competitiveness_elasticity", "vat_rate", "unknown_thing"]))
            tree.setdefault("parameters", {})
            if isinstance(tree["parameters"], dict):
                tree["parameters"][name] = draw(st.sampled_from(PARAMETER_VALUES))
        elif op == "project":
            project = {
                "name": draw(st.sampled_from(["P", "", " ", "a\u0000", LONG])),
                "segment": draw(st.sampled_from(["battery", "lfp_cathode", "copper"])),
                "capacity": draw(st.sampled_from([10, 0, -1, math.nan, 5e6, 6e6])),
                "online": draw(st.sampled_from(MONTHS)),
            }
            policy = tree.setdefault("policy", {})
            if isinstance(policy, dict):
                policy.setdefault("projects", [])
                if isinstance(policy["projects"], list):
                    policy["projects"].append(project)
    return tree


ENCODINGS = [
    "utf-8",
    "bom",
    "utf-16",
    "latin-1",
    "truncate",
    "garbage",
    "deep",
    "digits",
    "nul",
    "dupe",
    "dotted",
    "header",
    "no_levels",
]
DEEP_KEY = ".".join(["a"] * 20_000)  # tomllib is quadratic in a dotted key's parts: 7 s and 2.4 GB unchecked


def _encode(text: str, how: str, cut: float) -> bytes:
    if how == "bom":
        return b"\xef\xbb\xbf" + text.encode("utf-8")
    if how == "utf-16":
        return text.encode("utf-16")
    if how == "latin-1":
        return ("# Zürich, Suining\n" + text).encode("latin-1", "replace")
    if how == "truncate":
        data = text.encode("utf-8")
        return data[: int(len(data) * cut)]
    if how == "garbage":
        data = text.encode("utf-8")
        at = int(len(data) * cut)
        return data[:at] + b"\xff\xfe\x00\x80" + data[at:]
    if how == "deep":
        return (text + "deep = " + "[" * 3000 + "]" * 3000 + "\n").encode("utf-8")
    if how == "digits":
        return (text + "[parameters]\nsynthetic_firms_salt = " + "7" * 5000 + "\n").encode("utf-8")
    if how == "nul":
        return text.replace('name = "', 'name = "\\u0000', 1).encode("utf-8")
    if how == "dotted":
        return (text + "[policy]\n" + DEEP_KEY + " = 1\n").encode("utf-8")
    if how == "header":
        return (text + "[" + DEEP_KEY[: int(4000 * cut) * 2 + 40] + "]\nx = 1\n").encode("utf-8")
    if how == "no_levels":  # a demand series given, but not its levels
        table = ("storage_share", "rest_of_world_lithium", "lfp_share")[int(cut * 2.99)]
        return re.sub(rf"(\[demand\.{table}\][^\[]*?)levels = [^\n]*\n", r"\1", text, count=1).encode("utf-8")
    if how == "dupe":
        lines = text.splitlines(keepends=True)
        at = int(len(lines) * cut)
        return "".join(lines[: at + 1] + lines[at:]).encode("utf-8")
    return text.encode("utf-8")


EXTENDS = [
    "none",
    "chain",
    "cycle",
    "long_chain",
    "directory",
    "fifo",
    "loop",
    "missing",
    "outside",
    "allowed",
    "too_long",
    "nul_name",
    "not_scenario",
    "params_dir",
    "params_latin1",
    "params_outside",
    "params_int",
    "params_extends",
]


def _write_case(root: Path, tree: dict[str, Any], encoding: str, cut: float, links: str, depth: int) -> Path:
    """Write the case's files under ``root``; return the scenario a user would name."""
    case = root / "case"
    case.mkdir()
    scenario = case / "scenario.toml"
    tree = _copy(tree)
    if links in ("chain", "long_chain", "cycle"):
        n = depth if links == "chain" else 55 if links == "long_chain" else 3
        names = [f"p{i}.toml" for i in range(n)]
        parent = tree.pop("extends", None)
        for i, name in enumerate(names):
            nxt = names[i + 1] if i + 1 < n else (names[0] if links == "cycle" else parent)
            layer = {"description": f"layer {i}"}
            if nxt:
                layer["extends"] = nxt
            (case / name).write_text(dumps(layer), encoding="utf-8")
        tree["extends"] = names[0]
    elif links == "directory":
        (case / "adir.toml").mkdir()
        tree["extends"] = "adir.toml"
    elif links == "fifo" and hasattr(os, "mkfifo"):
        os.mkfifo(case / "pipe.toml")
        tree["extends"] = "pipe.toml"
    elif links == "loop":
        os.symlink(case / "b.toml", case / "a.toml")
        os.symlink(case / "a.toml", case / "b.toml")
        tree["extends"] = "a.toml"
    elif links == "missing":
        tree["extends"] = "nowhere/missing.toml"
    elif links == "outside":
        outside = root / "elsewhere"
        outside.mkdir()
        (outside / "secret.toml").write_text('password = "hunter2"\n', encoding="utf-8")
        tree["extends"] = "../elsewhere/secret.toml"
    elif links == "allowed":  # a parent outside the scenario's folder, allowed with --allow-path
        outside = root / "elsewhere"
        outside.mkdir()
        (outside / "parent.toml").write_text(_short_baseline(), encoding="utf-8")
        tree = {"extends": "../elsewhere/parent.toml", **{k: v for k, v in tree.items() if k != "extends"}}
    elif links == "too_long":
        tree["extends"] = "a" * 300 + ".toml"
    elif links == "nul_name":
        tree["extends"] = "a\u0000b.toml"
    elif links == "not_scenario":
        tree["extends"] = str(ROOT / "calibration" / "targets.toml")
    elif links == "params_dir":
        tree["parameter_file"] = "."
    elif links == "params_latin1":
        (case / "p.toml").write_bytes("# Zürich\n[parameters]\n".encode("latin-1"))
        tree["parameter_file"] = "p.toml"
    elif links == "params_outside":
        tree["parameter_file"] = "/etc/hostname"
    elif links == "params_extends":  # a parameter file cannot extend (its extends would be ignored)
        (case / "p.toml").write_text('extends = "other.toml"\n[parameters]\nvat_rate = 0.13\n', encoding="utf-8")
        tree["parameter_file"] = "p.toml"
    elif links == "params_int":
        (case / "p.toml").write_text("[parameters]\nsynthetic_firms_salt = inf\n", encoding="utf-8")
        tree["parameter_file"] = "p.toml"
    scenario.write_bytes(_encode(dumps(tree), encoding, cut))
    return scenario


STATS = os.environ.get("LITHIUM_FUZZ_STATS")  # a file to which each case appends a line (for measuring)


def _cli(args: list[str], label: str = "") -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            code = main(args)
        except SystemExit as exit_:  # argparse
            code = exit_.code
    if STATS:
        with open(STATS, "a", encoding="utf-8") as log:
            log.write(
                json.dumps(
                    {
                        "verb": args[0],
                        "case": label,
                        "exit": code,
                        "traceback": "Traceback" in err.getvalue(),
                        "message": err.getvalue()[:300],
                    }
                )
                + "\n"
            )
    return code, err.getvalue()


def _leftovers(folder: Path, name: str) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(f".{name}.") and ".partial-" not in p.name)


def _check_case(tree, encoding, cut, links, depth, run: bool) -> None:
    with tempfile.TemporaryDirectory(prefix="lithium-fuzz-") as tmp:
        root = Path(tmp)
        scenario = _write_case(root, tree, encoding, cut, links, depth)
        allow = ["--allow-path", str(root / "elsewhere")] if links == "allowed" else []
        label = f"{encoding}/{links}"
        code, err = _cli(["check", str(scenario), *allow], label)
        assert code in (0, 2), err
        assert "Traceback" not in err and len(err) < 5000, err
        if code == 2:
            assert err.startswith("lithium-sim check: ") and err.count("\n") == 1, err
            assert "hunter2" not in err and "password" not in err  # nothing read from outside is repeated
            return
        if not run:
            return
        loaded = load_scenario(scenario, allow_paths=allow[1:])
        firms = sum(loaded.params.of(stage, "synthetic_firms") for stage in DEFAULT_CHAIN.firm_stages)
        if loaded.end_month > RUN_MAX_MONTH or firms > RUN_MAX_FIRMS:
            return
        out = root / "out"
        code, err = _cli(
            ["run", str(scenario), "--out", str(out), "--replicates", "1", "--no-charts", "--quiet", *allow], label
        )
        assert code in (0, 2), err
        assert "Traceback" not in err, err
        assert _leftovers(root, "out") == []
        if code == 2:
            assert not out.exists(), err
            return
        summary = pd.read_csv(out / "summary.csv")
        stats = summary[["mean", "p05", "p50", "p95"]]
        assert stats.notna().all().all()
        assert (summary.loc[summary.metric == "output", ["mean", "p05", "p50", "p95"]] >= 0).all().all()
        assert {"capacity", "price"} <= set(summary["metric"])


# about half the cases are well-formed files with a few mutated values, so that every check gets exercised
CASES = dict(
    tree=mutated_tree(),
    encoding=st.sampled_from(["utf-8"] * len(ENCODINGS) + ["bom"] * 2 + ENCODINGS),
    cut=st.floats(0.0, 1.0),
    links=st.sampled_from(["none"] * len(EXTENDS) + ["chain"] * 3 + ["allowed"] * 2 + EXTENDS),
    depth=st.integers(1, 60),
)
SHORT = TREES[:1]  # the baseline cut at 2023-12
_SETTINGS = dict(
    deadline=None,
    derandomize=not EXAMPLES,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@settings(max_examples=CHECK_EXAMPLES, **_SETTINGS)
@given(**CASES)
def test_check_exits_0_or_2_without_a_traceback(tree, encoding, cut, links, depth):
    _check_case(tree, encoding, cut, links, depth, run=False)


@settings(max_examples=RUN_EXAMPLES, **_SETTINGS)
@given(
    tree=mutated_tree(SHORT, 1, MILD + TRICKY[:12]),
    encoding=st.sampled_from(["utf-8", "utf-8", "bom"]),
    cut=st.floats(0.0, 1.0),
    links=st.sampled_from(["none", "none", "chain", "allowed", "params_int"]),
    depth=st.integers(1, 8),
)
def test_run_exits_0_or_2_and_writes_sound_results_or_nothing(tree, encoding, cut, links, depth):
    _check_case(tree, encoding, cut, links, depth, run=True)


# ---------------------------------------------------------------------------------------------------------
# a handful through a subprocess, as a user runs them
# ---------------------------------------------------------------------------------------------------------
SUBPROCESS_CASES = {
    "fifo as the scenario": lambda d: (os.mkfifo(d / "s.toml"), ["check", "s.toml"])[1],
    "directory as the scenario": lambda d: ((d / "s.toml").mkdir(), ["check", "s.toml"])[1],
    "params not UTF-8": lambda d: (
        (d / "p.toml").write_bytes(b"[parameters]\n# \xff\xfe\n"),
        ["check", str(LIBRARY / "baseline.toml"), "--params", "p.toml"],
    )[1],
    "out under a file": lambda d: ((d / "f").write_text("x"), ["run", str(LIBRARY / "baseline.toml"), "--out", "f/o"])[
        1
    ],
    "replicates beyond the schema": lambda d: ["run", str(LIBRARY / "baseline.toml"), "--replicates", "200001"],
    "seed beyond the schema": lambda d: ["run", str(LIBRARY / "baseline.toml"), "--seed", str(2**200)],
    "a link at the lock": lambda d: (
        (d / "notes.txt").write_text("my draft"),
        os.symlink("notes.txt", d / ".out.lock"),
        ["run", str(LIBRARY / "baseline.toml"), "--replicates", "1", "--out", "out"],
    )[2],
    "a 20,000-deep dotted key": lambda d: (
        (d / "s.toml").write_text("[policy]\n" + DEEP_KEY + " = 1\n"),
        ["check", "s.toml"],
    )[1],
    "a demand series without levels": lambda d: (
        (d / "s.toml").write_text(re.sub(r"(\[demand\.storage_share\][^\[]*?)levels = [^\n]*\n", r"\1", _BASE_TEXT)),
        ["run", "s.toml", "--replicates", "1"],
    )[1],
    "a parameter file that extends": lambda d: (
        (d / "p.toml").write_text('extends = "parameters.toml"\n[parameters]\n'),
        ["check", str(LIBRARY / "baseline.toml"), "--params", "p.toml"],
    )[1],
    "an unreachable scheduler": lambda d: [
        "run",
        str(LIBRARY / "baseline.toml"),
        "--replicates",
        "1",
        "--out",
        "out",
        "--scheduler",
        "tcp://127.0.0.1:1",
    ],
}


_BASE_TEXT = (LIBRARY / "baseline.toml").read_text(encoding="utf-8")


@pytest.mark.parametrize("case", list(SUBPROCESS_CASES))
def test_a_user_sees_one_paragraph_and_exit_2(tmp_path, case):
    args = SUBPROCESS_CASES[case](tmp_path)
    before = sorted(p.name for p in tmp_path.iterdir())
    contents = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file() and not p.is_symlink()}
    done = subprocess.run(
        [sys.executable, "-m", "sim", *args], cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    assert len([line for line in done.stderr.splitlines() if line.startswith("lithium-sim")]) == 1, done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing written, nothing left
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.name in contents} == contents  # nothing lost
