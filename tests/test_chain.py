"""The chain is data: a new stage is a declaration plus its national series, and the step, the material balance,
prices and the summary follow (docs/model.md, "Submodels: the chain")."""

import dataclasses

import numpy as np

from sim.engine.model import simulate_batch
from sim.inputs.chain import DEFAULT_CHAIN, Input, Stage, firm_params
from sim.inputs.data import default_data
from sim.inputs.declare import Param
from sim.inputs.params import params_class
from sim.outputs.metrics import batch_metrics
from tests.conftest import seeds

# a toy iron-phosphate precursor stage feeding LFP cathode
PRECURSOR = Stage(
    key="iron_phosphate",
    unit="t",
    labels={"en": "iron phosphate", "zh": "磷酸铁"},
    suffix="fepo4",
    price_rule="cost_plus",
    price_unit="yuan/t",
    national={"capacity": "fepo4_capacity"},
    params=firm_params(
        "fepo4",
        "t",
        conversion_cost=(3000.0, 1000.0, 8000.0, "toy"),
        energy_cost=(1500.0, 500.0, 4000.0, "toy"),
        other_inputs=(4000.0, 1000.0, 9000.0, "toy: phosphoric acid and iron"),
        capex=(6000.0, 2000.0, 20000.0, "toy"),
        labour=(0.004, 0.001, 0.02, "toy"),
        construction_lag=(12.0, 6.0, 24.0, "toy"),
        synthetic_firms=(30, 5, 500, "toy"),
        entrant_slots=(10, 0, 500, "toy"),
        suining_cost_factor=(1.0, 0.5, 1.5, "toy"),
        max_firm_share=(1.0, 0.05, 1.0, "toy"),
        freight_in=(1.0, 0.5, 2.0, "toy"),
        freight_out=(1.0, 0.5, 2.0, "toy"),
    )
    + (Param("processing_fee_fepo4", 7000.0, "yuan/t", 100.0, 20000.0, "toy"),),
)
INTENSITY = Param("fepo4_t_per_t_lfp", 0.95, "t FePO4/t LFP", 0.9, 1.0, "toy: about 0.95 t per t of LFP")


def toy_chain():
    chain = DEFAULT_CHAIN.with_stage(PRECURSOR, before="lfp_cathode")
    return chain.with_inputs("lfp_cathode", Input("iron_phosphate", INTENSITY))


def test_a_toy_stage_runs_through_the_whole_model(short):
    chain = toy_chain()
    data = default_data()
    national = {**data.national, "fepo4_capacity": {2021: 1.5e6, 2022: 2.6e6, 2023: 3.8e6}}
    data = dataclasses.replace(data, national=national)
    params = params_class(chain)(**{k: v for k, v in short.params.to_dict().items()})
    record = simulate_batch(short, params=params, seeds=seeds(2), chain=chain, data=data)
    m = record.market
    # every t of LFP used 0.95 t of the precursor; nothing else buys it
    assert np.allclose(m["output_iron_phosphate"], 0.95 * m["output_lfp_cathode"], rtol=1e-9, atol=1e-6)
    # LFP is priced with its new input
    baseline = simulate_batch(short, seeds=seeds(2))
    assert np.all(m["price_lfp_cathode"] > baseline.market["price_lfp_cathode"])
    # the summary carries the stage like any other
    metrics = batch_metrics(record, chain)
    for metric in ("output", "capacity", "price", "value_added", "unmet_demand"):
        assert ("china", "iron_phosphate", metric) in metrics
    assert np.all(metrics[("china", "iron_phosphate", "output")][1] > 0)


def test_a_stage_short_of_capacity_holds_back_its_buyers_and_shows_unmet_demand(short):
    """A precursor stage with too little capacity holds back LFP, which cannot make cathode without it; the demand
    it could not serve is reported along the chain, never dropped."""
    chain = toy_chain()
    data = default_data()
    data = dataclasses.replace(
        data, national={**data.national, "fepo4_capacity": {2021: 0.3e6, 2022: 0.35e6, 2023: 0.4e6}}
    )
    params = params_class(chain)(**short.params.to_dict()).replace(entry_rate=0.0, investment_sensitivity=0.0)
    m = simulate_batch(short, params=params, seeds=seeds(1), chain=chain, data=data).market
    later = slice(24, None)
    assert np.all(m["unmet_iron_phosphate"][:, later] > 0)
    assert np.all(m["unmet_battery"][:, later] > 0)
    assert np.allclose(m["output_battery"] + m["unmet_battery"], m["addressed_battery"])
