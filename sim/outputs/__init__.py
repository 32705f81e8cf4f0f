"""Outputs: from a batch's record to the figures, tables and charts a planner reads.

Owns the one definition of every summary figure (`metrics`, the city's cost and return included), the report's
scoreboard (`scoreboard`), the run's tables (`tables`: summary across replicates, per-replicate values, firms,
market, supply), the charts (`charts`, and the rival clusters' in `cluster_charts`, both drawn with the building
blocks of `drawing` and the bundled CJK font in ``fonts/``) and the comparison of runs' summaries (`compare`:
table with bands of differences, like-with-like checks, workbook, charts). Words come from the message catalogue
(`sim.inputs.catalogue`; `labels` keeps its older names). It may import the engine's record types and the inputs;
the ways to run and the front ends import it.
"""
