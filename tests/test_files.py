"""What a scenario may read, and how: one guarded resolver and reader (sim/inputs/files.py) turns every
problem with a path or a file into an InputError naming the file and the key, and confines scenarios to
their own folder, the library and the calibration files."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import sim
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
