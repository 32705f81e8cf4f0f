"""The page as the server serves it: the workbench's page (`sim.app.page`) inside a boundary that turns any
error into a message.

A planner never sees a traceback (nor the server's file paths in one): bad input shows its one-paragraph
message; anything else is logged on the server with its traceback, and the page says so and offers to start
again.
"""

from __future__ import annotations

import solara

from sim.app import page
from sim.app.failure import message


@solara.component
def Page():
    error, clear = solara.use_exception()
    if error is None:
        page.Page()
        return
    with solara.Column(style={"padding": "24px", "max-width": "900px"}, classes=["lsim-failed"]):
        solara.Error(message(error), classes=["lsim-error"])
        solara.Button("Start again / 重新开始", on_click=clear, href="/", color="primary")
