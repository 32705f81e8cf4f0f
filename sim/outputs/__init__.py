"""Outputs: from a batch's record to the figures, tables and charts a planner reads.

Owns the one definition of every summary figure (`metrics`), the report's scoreboard (`scoreboard`), the run's
tables (`tables`: summary across replicates, firms, market, supply), the words in English and Chinese
(`labels`), the charts (`charts`, with the bundled CJK font in ``fonts/``) and the comparison of runs'
summaries (`compare`: table, workbook, charts). It may import the engine's record types and the inputs; the
ways to run and the front ends import it.
"""
