"""Agents of the lithium chain and their decision rules.

- `agents.firm`: firms of the firm stages (salt makers, LFP cathode makers, cell makers) as Mesa agents;
- `agents.producer`: cohorts of world lithium supply (mines, brine fields, recyclers) as Mesa agents;
- `agents.book`: the firms' state, a struct of (replicate x firm) arrays per stage (`FirmBook`);
- `agents.decisions`: the decision rules as pure numpy functions (offers, loss streaks, investment).

Agents may import `sim.inputs` (declarations) and nothing else of the project; the engine (`sim.engine`)
creates them, owns the supply cohorts' book, and calls their rules.
"""

from agents.firm import FIRM_TYPES, CathodeMaker, CellMaker, Firm, SaltMaker, firm_type
from agents.producer import Producer

__all__ = ["FIRM_TYPES", "CathodeMaker", "CellMaker", "Firm", "Producer", "SaltMaker", "firm_type"]
