"""The reference model: the same monthly rules as the batched engine, written as Mesa reads them, one replicate.

One `mesa.Agent` per plant (`sim.reference.firms`: salt, LFP cathode and cell makers, each with its own state and
``offer``, ``produce``, ``step`` and ``plan_investment``) and per world supply cohort (`sim.reference.world`);
one market per stage (`sim.reference.markets`: prices, the clearing markup, the water-filling split) and the world
market; the chain's quantities (`sim.reference.chain`), demand (`sim.reference.demand`), accounts
(`sim.reference.accounts`), policy levers (`sim.reference.policy`), location (`sim.reference.location`) and the
quarter's investment and entry (`sim.reference.investment`). Plain Python over numbers: readable, not fast.

It is the readable statement of each submodel (docs/model.md points to it), the oracle the engine is tested
against (tests/test_reference.py: the same set-up and random streams, `sim.reference.setup`, and the same monthly
outcomes) and the per-agent speed baseline (benchmarks/bench_reference.py). It may import `sim.inputs`, `agents`
and `sim.engine` (for the engine's set-up only), never what is above the engine.
"""

from sim.reference.model import ReferenceModel, ReferenceRecord, run_reference

__all__ = ["ReferenceModel", "ReferenceRecord", "run_reference"]
