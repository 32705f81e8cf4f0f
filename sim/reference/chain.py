"""The chain's quantities in the reference model: demand up the chain, deliveries down it (docs/model.md,
"Submodels: chain quantities and unmet demand"); u/month, one replicate.

For stage s, ``d_s`` its final demand, ``a_b`` the intensity at which buyer b uses s and ``sigma_b`` the share of
b's output that uses s::

    downstream first:  G_s = d_s + sum_b a_b sigma_b G_b              gross demand
                       A_s = d_s + sum_b a_b sigma_b Q_b              addressed demand
                       Q_s = min(A_s, offers_s)                       request (A_s at a pinned price, and for
                                                                      world supply)
    upstream first:    delta_s = Q_s / A_s x min_u (1 - sigma_u + sigma_u delta_u)     delivered share
                       (world supply: served to buyers / A_s)
    downstream first:  X_s = delta_s d_s + sum_b a_b sigma_b Q_b m_b,  m_b = min_u delta_u  output
                       last stage: X_s = Q_s x min_u (1 - sigma_u + sigma_u delta_u)
    at a pinned price: trade_s = max(X_s - offers_s, 0), X_s <- X_s - trade_s
                       U_s = max(A_s - X_s - trade_s, 0)               unmet demand
"""

from __future__ import annotations

from collections.abc import Callable


def _share(inp, drivers: dict[str, float]) -> float:
    return drivers[inp.share] if inp.share else 1.0


def demand_up(model, drivers: dict[str, float], offers: Callable[[str, float], float]) -> dict[str, dict]:
    """Final, gross and addressed demand and the request of every stage, downstream first; ``offers(key,
    addressed)`` is a firm stage's total offer given what is addressed to it."""
    chain, p = model.chain, model.params
    final = {
        s.key: drivers[s.final_demand] if s.final_demand and (s.agents == "firms" or model.world is not None) else 0.0
        for s in chain
    }
    gross: dict[str, float] = {}
    addressed: dict[str, float] = {}
    request: dict[str, float] = {}
    for stage in reversed(chain.stages):
        buyers = chain.buyers(stage.key)
        gross[stage.key] = final[stage.key] + sum(
            (getattr(p, i.intensity.name) * _share(i, drivers) * gross[b.key] for b, i in buyers), 0.0
        )
        addressed[stage.key] = final[stage.key] + sum(
            (getattr(p, i.intensity.name) * _share(i, drivers) * request[b.key] for b, i in buyers), 0.0
        )
        if stage.agents == "firms":
            offered = offers(stage.key, addressed[stage.key])
            # a stage whose price the scenario pins (salts in path mode) is served in full: what its firms do not
            # make at that price comes from stocks and trade
            pinned = model.pinned(stage)
            request[stage.key] = addressed[stage.key] if pinned else min(addressed[stage.key], offered)
        else:
            request[stage.key] = addressed[stage.key]
    return {"final": final, "gross": gross, "addressed": addressed, "request": request}


def deliveries(model, drivers: dict[str, float], offers: dict[str, float], month: int) -> dict:
    """The month's flows along the chain (see the module docstring), running the world market's month."""
    chain, p = model.chain, model.params
    flows = demand_up(model, drivers, lambda key, _addressed: offers[key])
    final, addressed, request = flows["final"], flows["addressed"], flows["request"]

    def intensity(inp) -> float:
        return getattr(p, inp.intensity.name)

    delivered: dict[str, float] = {}
    supply = None
    for stage in chain:
        if stage.agents == "cohorts":
            if model.world is not None:
                # the price answers to the demand for salts, uncapped by converters' own capacity
                wanted = final[stage.key] + sum(
                    (intensity(i) * _share(i, drivers) * addressed[b.key] for b, i in chain.buyers(stage.key)), 0.0
                )
                supply = model.world.step(month, addressed[stage.key], wanted)
                a = addressed[stage.key]
                delivered[stage.key] = supply["to_buyers"] / a if a > 0 else 1.0
            else:
                delivered[stage.key] = 1.0
            continue
        inputs = [1.0 - _share(i, drivers) + _share(i, drivers) * delivered[i.stage] for i in stage.inputs]
        available = min(inputs) if inputs else 1.0
        a = addressed[stage.key]
        own = request[stage.key] / a if a > 0 else 1.0
        delivered[stage.key] = own * available

    output: dict[str, float] = {}
    for stage in reversed(chain.stages):
        buyers = chain.buyers(stage.key)
        if stage.agents == "cohorts" and supply is not None:
            output[stage.key] = supply["to_buyers"]
            continue
        used = 0.0
        for buyer, inp in buyers:
            m = min(delivered[i.stage] for i in buyer.inputs)
            used = used + intensity(inp) * _share(inp, drivers) * request[buyer.key] * m
        if buyers:
            output[stage.key] = delivered[stage.key] * final[stage.key] + used
        else:
            inputs = [1.0 - _share(i, drivers) + _share(i, drivers) * delivered[i.stage] for i in stage.inputs]
            output[stage.key] = request[stage.key] * (min(inputs) if inputs else 1.0)
    # at a pinned price, what the stage's firms do not offer comes from stocks and trade, not its own output
    trade = {key: 0.0 for key in output}
    for stage in chain.firm_stages:
        if model.pinned(stage):
            trade[stage.key] = max(output[stage.key] - offers[stage.key], 0.0)
            output[stage.key] = output[stage.key] - trade[stage.key]
    unmet = {key: max(addressed[key] - output[key] - trade[key], 0.0) for key in output}
    flows.update(output=output, unmet=unmet, trade=trade, supply=supply)
    return flows
