"""Serve the workbench on this machine: ``lithium-sim app [--host 127.0.0.1] [--port 8765]``.

Solara's server (``solara run sim.app.page --production``) with everything the page needs served from here:

- the front end comes from the ``solara-assets`` package of the same version (its files are in the
  environment's ``share/solara/cdn``); the server is pointed at a CDN address on this machine that answers
  nothing, so a missing file fails here instead of being fetched from the internet;
- Solara's usage telemetry and its version check are off;
- the project's bundled CJK font (``sim/outputs/fonts/LithiumSimCJK-Regular.otf``) is served as a static asset
  and named by ``@font-face`` in the page's style, so Chinese never depends on the system's fonts.
"""

from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path

FONT_DIR = Path(__file__).resolve().parents[1] / "outputs" / "fonts"
OFFLINE_CDN = "http://127.0.0.1:9/npm/"  # the discard port: nothing answers, nothing leaves the machine
ENVIRONMENT = {
    "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "False",
    "SOLARA_ASSETS_CDN": OFFLINE_CDN,
    "SOLARA_ASSETS_PROXY": "True",
    "SOLARA_ASSETS_EXTRA_LOCATIONS": str(FONT_DIR),
    "SOLARA_THEME_SHOW_BANNER": "False",
    "SOLARA_THEME_TITLE": "Suining lithium workbench",
}


def configure(workers: int = 1) -> None:
    """Set the environment Solara reads when it is first imported (call before importing it)."""
    os.environ.update(ENVIRONMENT)
    os.environ["LITHIUM_SIM_APP_WORKERS"] = str(workers)


def serve(host: str = "127.0.0.1", port: int = 8765, workers: int = 1) -> int:
    """Run the workbench's server until interrupted; return the exit code."""
    configure(workers)
    # Solara warns on every page load that a session cookie over http cannot be samesite=none; on this machine
    # (http://127.0.0.1) that is expected and says nothing to the planner
    warnings.filterwarnings("ignore", message="Cookies with samesite=none require https")
    try:
        import click
        from solara.__main__ import cli
    except ImportError:
        print(
            "lithium-sim app: the workbench needs Solara; install it with: pip install -e '.[app]' "
            "(make app does this)",
            file=sys.stderr,
        )
        return 2
    args = [
        "run",
        "sim.app.page",
        "--host",
        host,
        "--port",
        str(port),
        "--production",
        "--no-check-version",
        "--no-open",
    ]
    try:
        cli.main(args, prog_name="lithium-sim app", standalone_mode=False)
    except (KeyboardInterrupt, click.exceptions.Abort):  # Ctrl-C is how the workbench is stopped
        pass
    print("lithium-sim app: stopped", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(serve(*sys.argv[1:2], *(int(a) for a in sys.argv[2:3])))
