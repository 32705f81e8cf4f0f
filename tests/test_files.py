"""What a scenario may read, and how: one guarded resolver and reader (sim/inputs/files.py) turns every
problem with a path or a file into an InputError naming the file and the key, and confines scenarios to
their own folder, the library and the calibration files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sim
from sim.inputs import files
from sim.inputs.errors import InputError
from sim.inputs.params import load_param_file
from sim.inputs.scenario import MAX_EXTENDS, load_scenario, load_scenario_text
from tests.conftest import BASELINE, ROOT

TEXT = BASELINE.read_text(encoding="utf-8")


def _error(call, *args, **kwargs) -> InputError:
    with pytest.raises(InputError) as info:
        call(*args, **kwargs)
    message = info.value.message
    assert "\n" not in message and len(message) < 1500, message
    return info.value


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


# --- the path itself ---------------------------------------------------------------------------------
def test_a_directory_or_a_fifo_is_named_as_what_it_is(tmp_path):
    (tmp_path / "dir.toml").mkdir()
    assert "is a directory" in _error(load_scenario, tmp_path / "dir.toml").message
    os.mkfifo(tmp_path / "pipe.toml")
    err = _error(load_scenario, tmp_path / "pipe.toml")
    assert "named pipe (FIFO)" in err.message and "does not exist" not in err.message
    child = _write(tmp_path / "child.toml", 'extends = "pipe.toml"\nname = "x"\n')
    err = _error(load_scenario, child)
    assert err.key == "extends" and "named pipe" in err.message


@pytest.mark.parametrize(
    "parent, says",
    [
        ("a" * 300 + ".toml", "at most 255 bytes"),
        ("/".join(["d" * 200] * 30), "at most 4096 bytes"),
        ("a\u0000b", "NUL character"),
        ("", "is empty"),
    ],
)
def test_impossible_paths_in_extends_name_the_key(tmp_path, parent, says):
    escaped = parent.replace("\0", "\\u0000")  # TOML's escape for the NUL character
    child = _write(tmp_path / "child.toml", f'extends = "{escaped}"\nname = "x"\n')
    err = _error(load_scenario, child)
    assert err.key == "extends" and says in err.message and str(child) in err.message


def test_a_symlink_loop_is_named(tmp_path):
    os.symlink(tmp_path / "b.toml", tmp_path / "a.toml")
    os.symlink(tmp_path / "a.toml", tmp_path / "b.toml")
    child = _write(tmp_path / "child.toml", 'extends = "a.toml"\nname = "x"\n')
    assert "loop of symbolic links" in _error(load_scenario, child).message
    assert "loop of symbolic links" in _error(load_scenario, tmp_path / "a.toml").message


def test_an_over_long_scenario_path_is_input(tmp_path):
    err = _error(load_scenario, tmp_path / ("s" * 1000 + ".toml"))
    assert "at most 255 bytes" in err.message and "characters)" in err.message  # the path is cut


# --- the bytes -----------------------------------------------------------------------------------------
def test_a_byte_order_mark_is_accepted(tmp_path):
    path = tmp_path / "bom.toml"
    path.write_bytes(b"\xef\xbb\xbf" + TEXT.encode("utf-8"))
    assert load_scenario(path).name == "baseline"
    assert sim.load_scenario_text("\ufeff" + TEXT).name == "baseline"


@pytest.mark.parametrize(
    "data, says",
    [
        ("# Zürich\n".encode("latin-1") + TEXT.encode("utf-8"), "byte 0xfc at line 1, column 4"),
        (TEXT.encode("utf-16"), "not UTF-8 text"),
        (TEXT.encode("utf-8") + b"\nx = " + b"[" * 3000 + b"]" * 3000 + b"\n", "nested too deeply"),
        (TEXT.encode("utf-8") + b"\n[parameters]\nvat_rate = " + b"9" * 5000 + b"\n", "more than 4300 digits"),
    ],
)
def test_undecodable_files_are_input_errors(tmp_path, data, says):
    path = tmp_path / "s.toml"
    path.write_bytes(data)
    err = _error(load_scenario, path)
    assert says in err.message and str(path) in err.message


def test_a_parameter_file_not_in_utf8_is_input(tmp_path):
    path = tmp_path / "p.toml"
    path.write_bytes("# Zürich\n[parameters]\n".encode("latin-1"))
    assert "not UTF-8 text" in _error(load_param_file, path).message
    assert "not UTF-8 text" in _error(load_scenario, BASELINE, parameter_file=path).message


def test_toml_errors_give_positions_never_content(tmp_path):
    path = _write(tmp_path / "s.toml", 'secret_token = "hunter2\n')
    err = _error(load_scenario, path)
    assert "line 1" in err.message and "hunter2" not in err.message


def test_long_values_are_cut_in_messages(tmp_path):
    path = _write(tmp_path / "s.toml", TEXT.replace('after = "revert"', 'after = "' + "x" * 1_000_000 + '"'))
    err = _error(load_scenario, path)
    assert "1,000,002 characters" in err.message and len(err.message) < 600


# --- integers are integral -------------------------------------------------------------------------------
@pytest.mark.parametrize("value", ["inf", "nan", "-inf", "5.9", "1e400"])
def test_integer_parameters_refuse_what_is_not_a_whole_number(tmp_path, value):
    path = _write(tmp_path / "s.toml", TEXT + f"\n[parameters]\nsynthetic_firms_salt = {value}\n")
    err = _error(load_scenario, path)
    assert err.key == "synthetic_firms_salt"


def test_integer_parameters_take_whole_floats(tmp_path):
    path = _write(tmp_path / "s.toml", TEXT + "\n[parameters]\nsynthetic_firms_salt = 61.0\n")
    assert load_scenario(path).params.synthetic_firms_salt == 61


def test_a_float_parameter_given_a_huge_integer_is_out_of_range(tmp_path):
    path = _write(tmp_path / "s.toml", TEXT + "\n[parameters]\nvat_rate = " + "9" * 400 + "\n")
    assert _error(load_scenario, path).key == "vat_rate"


# --- months, names -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("end", ["２０３０-１２", "2030-12\\n", " 2030-12", "2030-12 ", "2030–12"])
def test_months_are_ascii_digits_and_nothing_else(tmp_path, end):
    path = _write(tmp_path / "s.toml", TEXT.replace('end = "2030-12"', f'end = "{end}"'))
    err = _error(load_scenario, path)
    assert err.key == "end" and "\n" not in err.message


def test_year_keys_are_ascii_digits(tmp_path):
    path = _write(tmp_path / "s.toml", TEXT.replace("levels = { 2022 = 750,", 'levels = { "２０２２" = 750,'))
    assert _error(load_scenario, path).key == "demand.battery.levels.２０２２"


@pytest.mark.parametrize("name", ["", "   ", "a\\u0001b"])
def test_projects_need_a_printable_name(tmp_path, name):
    project = f'\n[[policy.projects]]\nname = "{name}"\nsegment = "battery"\ncapacity = 5\nonline = "2025-01"\n'
    err = _error(load_scenario, _write(tmp_path / "s.toml", TEXT + project))
    assert err.key == "policy.projects[0].name"


# --- extends chains ---------------------------------------------------------------------------------------
def _chain(folder: Path, length: int) -> Path:
    _write(folder / f"p{length}.toml", TEXT)
    for i in range(length):
        _write(folder / f"p{i}.toml", f'extends = "p{i + 1}.toml"\ndescription = "layer {i}"\n')
    return folder / "p0.toml"


def test_extends_chains_are_bounded(tmp_path):
    assert load_scenario(_chain(tmp_path / "ok", MAX_EXTENDS - 1)).name == "baseline"
    err = _error(load_scenario, _chain(tmp_path / "long", 995))
    assert err.key == "extends" and f"at most {MAX_EXTENDS} files" in err.message


# --- what a scenario may read -----------------------------------------------------------------------------
def test_extends_outside_the_scenarios_folder_is_refused_unless_allowed(tmp_path):
    _write(tmp_path / "team" / "secret.toml", 'password = "hunter2"\n')
    _write(tmp_path / "team" / "parent.toml", TEXT)
    child = _write(tmp_path / "mine" / "child.toml", 'extends = "../team/parent.toml"\nname = "child"\n')
    err = _error(load_scenario, child)
    assert err.key == "extends" and "outside the folders" in err.message and "--allow-path" in err.message
    assert load_scenario(child, allow_paths=[tmp_path / "team"]).name == "child"
    nosy = _write(tmp_path / "mine" / "nosy.toml", 'extends = "../team/secret.toml"\nname = "x"\n')
    err = _error(load_scenario, nosy, allow_paths=[tmp_path / "team"])
    assert "not a scenario file" in err.message and "hunter2" not in err.message and "password" not in err.message


@pytest.mark.parametrize("key", ["extends", "parameter_file"])
def test_absolute_paths_out_of_the_roots_are_refused_before_reading(tmp_path, key):
    path = _write(tmp_path / "s.toml", f'{key} = "/etc/passwd"\n' + TEXT)
    err = _error(load_scenario, path)
    assert err.key == key and "outside the folders" in err.message


def test_a_symlink_cannot_lead_out(tmp_path):
    _write(tmp_path / "outside" / "parent.toml", TEXT)
    (tmp_path / "mine").mkdir()
    os.symlink(tmp_path / "outside" / "parent.toml", tmp_path / "mine" / "link.toml")
    child = _write(tmp_path / "mine" / "child.toml", 'extends = "link.toml"\nname = "child"\n')
    assert "symbolic link" in _error(load_scenario, child).message


def test_the_library_and_calibration_files_are_always_readable(tmp_path):
    child = _write(
        tmp_path / "child.toml",
        f'extends = "{BASELINE}"\nname = "child"\nparameter_file = "{ROOT / "calibration" / "parameters.toml"}"\n',
    )
    scenario = load_scenario(child)
    assert scenario.name == "child" and scenario.parameter_file.endswith("parameters.toml")


# --- scenario text (the workbench's uploads) ---------------------------------------------------------------
def test_scenario_text_may_extend_the_library():
    scenario = load_scenario_text('extends = "baseline.toml"\nname = "upload"\n', name="upload.toml")
    assert scenario.name == "upload" and scenario.source is None
    assert scenario.lineage[0][0] == "upload.toml" and scenario.lineage[1][0] == str(BASELINE)


@pytest.mark.parametrize(
    "text, key",
    [
        ('extends = "../calibration/targets.toml"\nname = "x"\n', "extends"),
        ('extends = "/etc/passwd"\nname = "x"\n', "extends"),
        ('extends = "../../../../etc/hostname"\nname = "x"\n', "extends"),
        ('extends = "baseline.toml"\nname = "x"\nparameter_file = "../scenarios/baseline.toml"\n', "parameter_file"),
        ('extends = "baseline.toml"\nname = "x"\nparameter_file = "/etc/passwd"\n', "parameter_file"),
    ],
)
def test_scenario_text_reads_no_other_file(text, key):
    err = _error(load_scenario_text, text, name="upload.toml")
    assert err.key == key and "upload.toml" in err.message


def test_scenario_text_is_validated_like_a_file():
    err = _error(load_scenario_text, TEXT.replace("2022 = 0.607", "2022 = 1.5"), name="upload.toml")
    assert err.key == "demand.lfp_share.levels.2022" and err.file == "upload.toml"
    assert "not valid TOML" in _error(load_scenario_text, "name = ", name="upload.toml").message


# --- parsing with a budget -----------------------------------------------------------------------------------
DEEP = "[policy]\n" + ".".join(["a"] * 20_000) + " = 1\n"  # 40 kB that took tomllib 7 s and 2.4 GB


@pytest.mark.parametrize(
    "text, says",
    [
        (DEEP, "a dotted key at line 2 is nested too deeply"),
        ("[" + ".".join(["t"] * 40) + "]\nx = 1\n", "a table header at line 1"),
        ("[[" + ".".join(["t"] * 40) + "]]\nx = 1\n", "a table header at line 1"),
        ("x = " + "[" * 40 + "1" + "]" * 40 + "\n", "an array at line 1"),
        ("x = " + "{ a = " * 40 + "1" + " }" * 40 + "\n", "a key at line 1 is nested too deeply"),
        ("a = 1\n" * (files.MAX_LINES + 1), f"at most {files.MAX_LINES:,}"),
    ],
)
def test_a_text_built_to_be_slow_is_refused_before_it_is_parsed(tmp_path, monkeypatch, text, says):
    parsed = []
    monkeypatch.setattr(files.tomllib, "loads", lambda *a, **k: parsed.append(1))  # never reached
    err = _error(load_scenario, _write(tmp_path / "slow.toml", text))
    assert says in err.message and "slow.toml" in err.message and not parsed


def test_the_deep_key_file_is_refused_fast_and_small(tmp_path):
    """The 20,000-deep dotted key, checked in a child process: exit 2, within 2 s and 200 MB of memory (it took
    7.4 s and 2.39 GB when the nesting was checked after parsing). The child imports the program first: what is
    measured is the check, its time, the memory it allocates and what it adds to the process's peak."""
    path = _write(tmp_path / "deep.toml", DEEP)
    child = (
        "import json, resource, sys, time, tracemalloc\n"
        "from sim.cli import build_parser, main\n"
        "import sim.inputs.scenario\n"
        "build_parser()\n"
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024\n"
        "tracemalloc.start()\n"
        "start = time.perf_counter()\n"
        f"code = main(['check', {str(path)!r}])\n"
        "seconds = time.perf_counter() - start\n"
        "peak = tracemalloc.get_traced_memory()[1]\n"
        "grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - before\n"
        "print(json.dumps({'code': code, 'seconds': seconds, 'peak': peak, 'grown': grown}))\n"
    )
    done = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True, timeout=120, cwd=ROOT)
    measured = json.loads(done.stdout.strip().splitlines()[-1])
    assert measured["code"] == 2 and "nested too deeply" in done.stderr and "Traceback" not in done.stderr
    assert measured["seconds"] < 2.0, measured
    assert measured["peak"] < 200e6 and measured["grown"] < 200e6, measured
    user = subprocess.run(
        [sys.executable, "-m", "sim", "check", str(path)], capture_output=True, text=True, timeout=120
    )
    assert user.returncode == 2 and "Traceback" not in user.stderr and user.stderr.count("\n") == 1


def _render(tree: dict, style: str, prefix: tuple[str, ...] = ()) -> str:
    """TOML for ``tree`` with tables written as headers, dotted keys or inline tables (``style``)."""
    lines: list[str] = []
    if style == "inline":
        return "".join(f"{k} = {_inline(v)}\n" for k, v in tree.items())
    later = []
    for key, value in tree.items():
        if isinstance(value, dict) and style == "dotted":
            lines.append(_dotted(value, (*prefix, key)) if value else f"{'.'.join((*prefix, key))} = {{}}\n")
        elif isinstance(value, dict):
            later.append((key, value))
        else:
            lines.append(f"{key} = {_inline(value)}\n")
    text = "".join(lines)
    for key, value in later:
        text += f"[{'.'.join((*prefix, key))}]\n" + _render(value, style, (*prefix, key))
    return text


def _dotted(tree: dict, prefix: tuple[str, ...]) -> str:
    out = ""
    for key, value in tree.items():
        if isinstance(value, dict) and value:
            out += _dotted(value, (*prefix, key))
        else:
            out += f"{'.'.join((*prefix, key))} = {_inline(value)}\n"
    return out


def _inline(value) -> str:
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_inline(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list):
        return "[" + ", ".join(_inline(v) for v in value) + "]"
    return json.dumps(value)


_LEAF = st.one_of(st.integers(-5, 5), st.text("ab.#[]{}='\" ", max_size=6))
_TREES = st.recursive(
    st.dictionaries(st.sampled_from("abcd"), _LEAF, max_size=2),
    lambda inner: st.dictionaries(
        st.sampled_from("efgh"), st.one_of(inner, st.lists(inner | _LEAF, max_size=2)), min_size=1, max_size=2
    ),
    max_leaves=40,
)


def _depth(node, here: int = 0) -> int:
    if isinstance(node, dict):
        return max([here, *(_depth(v, here + 1) for v in node.values())])
    if isinstance(node, list):
        return max([here, *(_depth(v, here + 1) for v in node)])
    return here


@settings(max_examples=300, deadline=None, derandomize=True)
@given(tree=_TREES, style=st.sampled_from(["headers", "dotted", "inline"]), limit=st.integers(1, 8))
def test_the_budget_scan_counts_nesting_as_the_parser_builds_it(tree, style, limit):
    """Whatever way a tree is written (headers, dotted keys, inline tables, arrays, quoted dots and brackets in
    strings), the linear scan refuses it exactly when the parsed tables nest deeper than the limit."""
    text = _render(tree, style)
    parsed = tomllib.loads(text)
    try:
        files.check_budget(text, "t.toml", limit=limit)
        refused = False
    except InputError:
        refused = True
    assert refused == (_depth(parsed) > limit), text


# --- missing keys, extends where it does not belong ------------------------------------------------------------
def _without_levels(series: str) -> str:
    """The baseline's text with the levels of one demand series left out (its table keeps its unit)."""
    lines = TEXT.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"[demand.{series}]"))
    at = next(i for i in range(start + 1, len(lines)) if lines[i].startswith("levels"))
    return "\n".join(lines[:at] + lines[at + 1 :]) + "\n"


@pytest.mark.parametrize("series", ["storage_share", "rest_of_world_lithium", "battery"])
def test_a_demand_series_without_levels_is_input(tmp_path, series):
    err = _error(load_scenario, _write(tmp_path / "s.toml", _without_levels(series)))
    assert err.key == f"demand.{series}.levels" and "is required" in err.message
    err = _error(load_scenario_text, _without_levels(series), name="upload.toml")  # the workbench's way
    assert err.key == f"demand.{series}.levels" and err.file == "upload.toml"


def test_a_series_without_levels_inherits_them(tmp_path):
    child = _write(
        tmp_path / "c.toml", f'extends = "{BASELINE}"\nname = "c"\n[demand.storage_share]\nunit = "fraction"\n'
    )
    assert load_scenario(child).storage_share_levels[2022] == pytest.approx(0.133)


def test_a_parameter_file_may_not_extend(tmp_path):
    params = _write(tmp_path / "p.toml", 'extends = "parameters.toml"\n[parameters]\nvat_rate = 0.13\n')
    err = _error(load_param_file, params)
    assert err.key == "extends" and "cannot extend" in err.message
