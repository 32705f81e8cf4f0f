"""The engine: the batched agent-based model of the lithium chain.

Owns the model and its monthly step (`model`), the market kernels and every price rule (`market`), world
lithium supply and the clearing carbonate market (`supply`), firm accounts (`accounting`), the policy levers'
mechanisms (`policy`), random draws of firms (`population`) and what a batch records (`records`). It may import
the agents (`agents`) and the inputs (`sim.inputs`); outputs, runs and front ends import it, never the reverse.
"""
