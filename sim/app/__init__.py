"""The workbench: a local web app (Solara) where a planner picks or uploads a scenario, moves the levers and
assumptions, runs it beside the baseline and downloads what they see.

This room owns the page (`sim.app.page`, with its Vue parts: a slider control, a chart drawn in the browser, the
upload box), its state and work apart from the page (`sim.app.workbench`: controls generated from the declarations,
runs cached by the scenario's fingerprint, the baseline of the same price mode, cost beside benefit, comparison,
downloads, the URL that holds a view), its charts (`sim.app.charts`: ECharts options for the page, matplotlib images
for the benchmark's "before"), its words (`sim.app.words`, read from the message catalogue `sim.inputs.catalogue`),
a scenario written back as TOML (`sim.app.scenario_toml`) and the server (`sim.app.server`: everything served from
this machine, the bundled CJK font by ``@font-face``). It is a front end at the top of the layers: it imports
`sim.api`, `sim.discovery`, the labels, charts and workbook writer of `sim.outputs`, the city's data
(`sim.inputs.data`: what the city can pay) and the worker processes of `sim.runs.executors`; nothing imports it but
the command line.
"""
