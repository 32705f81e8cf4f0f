"""Bad rows in the data tables: a clear InputError that names the file and the key, never a traceback at run time
(docs/data.md)."""

import shutil

import pytest

from sim.inputs.clusters import load_clusters
from sim.inputs.data import DATA_DIR, ModelData, load_registry, load_supply
from sim.inputs.errors import InputError


@pytest.fixture
def data_dir(tmp_path):
    shutil.copytree(DATA_DIR, tmp_path / "data")
    return tmp_path / "data"


def _edit(path, old, new):
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        ("yibin,energy_support,0.08,", "yibin,energy_support,lots,", "value"),
        ("yibin,energy_support,0.08,yuan/kWh,2019-09", "yibin,energy_support,0.08,yuan/kWh,Sept 2019", "from"),
        ("yibin,energy_support,", "yibn,energy_support,", "cluster"),
    ],
)
def test_a_bad_cluster_policy_names_the_file_and_the_key(data_dir, old, new, key):
    _edit(data_dir / "cluster_policies.csv", old, new)
    with pytest.raises(InputError) as err:
        load_clusters(data_dir)
    assert err.value.key == key and err.value.file.endswith("cluster_policies.csv")


def test_an_unknown_feedstock_cohort_names_the_file_and_the_key(data_dir):
    path = data_dir / "suining_feedstock.csv"
    text = path.read_text(encoding="utf-8")
    cohort = "aus_tier1" if "aus_tier1" in text else "china_brine"
    _edit(path, cohort, "atlantis_brine")
    with pytest.raises(InputError) as err:
        ModelData(load_registry(data_dir / "suining_firms.csv"), {}, load_supply(data_dir))
    assert err.value.key == "feedstock_cohort" and "atlantis_brine" in str(err.value)
