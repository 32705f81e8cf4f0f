"""Scenario discovery: which combinations of uncertain inputs make a target hold or fail.

This room owns drawing scenarios over declared uncertain inputs (a Latin hypercube), finding the boxes of
inputs where the target holds with PRIM (Friedman and Fisher 1999, as in Bryant and Lempert 2010), and the
report of those boxes (CSV tables, charts, REPORT.md). It reaches the simulator through `sim.api`
only; nothing imports it except front ends (the command line, the workbench).
"""
