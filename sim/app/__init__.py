"""The workbench: a local web app (Solara) where a planner picks or uploads a scenario, moves the levers and
assumptions, runs it beside the baseline and downloads what they see.

This room owns the page (`sim.app.page`), its state and work apart from the page (`sim.app.workbench`: controls
generated from the declarations, runs cached by the scenario's fingerprint, comparison, downloads, the URL
that holds a view), its charts (`sim.app.charts`), its words (`sim.app.words`), a scenario written back as
TOML (`sim.app.scenario_toml`) and the server (`sim.app.server`: everything served from this machine, the
bundled CJK font by ``@font-face``). It is a front end at the top of the layers: it imports `sim.api`,
`sim.discovery` and the labels and charts of `sim.outputs` only, and nothing imports it but the command line.
"""
