"""Serve the workbench on this machine: ``lithium-sim app [--host 127.0.0.1] [--port 8765] [--allow-host NAME]``.

Solara's server (its Starlette app, as ``solara run --production`` serves it) run by uvicorn here, with the page
`sim.app.guarded` (the workbench's page, which never shows a traceback) and everything it needs served from here:

- the front end comes from the ``solara-assets`` package of the same version (its files are in the
  environment's ``share/solara/cdn``); the server is pointed at a CDN address on this machine that answers
  nothing, so a missing file fails here instead of being fetched from the internet;
- Solara's usage telemetry and its version check are off;
- the project's bundled CJK font (``sim/outputs/fonts/LithiumSimCJK-Regular.otf``) is served as a static asset
  and named by ``@font-face`` in the page's style, so Chinese never depends on the system's fonts.

It talks only to its own page (`sim.app.gate`): requests for other host names, WebSockets and forms from other
origins, over-long links and sessions beyond the bound are refused, idle sessions closed; scenario text from a
browser is parsed in a worker process within a time and memory budget (`sim.app.budget`).
"""

from __future__ import annotations

import ipaddress
import os
import socket
import sys
import warnings
from collections.abc import Iterable
from pathlib import Path

from sim.app import gate

FONT_DIR = Path(__file__).resolve().parents[1] / "outputs" / "fonts"
OFFLINE_CDN = "http://127.0.0.1:9/npm/"  # the discard port: nothing answers, nothing leaves the machine
ENVIRONMENT = {
    "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "False",
    "SOLARA_ASSETS_CDN": OFFLINE_CDN,
    "SOLARA_ASSETS_PROXY": "True",
    "SOLARA_ASSETS_EXTRA_LOCATIONS": str(FONT_DIR),
    "SOLARA_THEME_SHOW_BANNER": "False",
    "SOLARA_THEME_TITLE": "Suining lithium workbench",
    "SOLARA_APP": "sim.app.guarded",  # the page, inside its error boundary
    "SOLARA_KERNEL_CULL_TIMEOUT": gate.CULL_TIMEOUT,  # a closed tab's session is freed soon (Solara keeps it 24 h)
    "SOLARA_KERNEL_MAX_PER_SESSION": "16",  # browser tabs of one browser at once (Solara allows 100)
}


def configure(workers: int = 1) -> None:
    """Set the environment Solara reads when it is first imported (call before importing it)."""
    os.environ.update(ENVIRONMENT)
    os.environ["LITHIUM_SIM_APP_WORKERS"] = str(workers)


def serve(host: str = "127.0.0.1", port: int = 8765, workers: int = 1, allow_hosts: Iterable[str] = ()) -> int:
    """Run the workbench's server until interrupted; return the exit code.

    Args:
        host: the address to listen on.
        port: the port (0: any free one, printed).
        workers: local worker processes for runs.
        allow_hosts: host names (or addresses) the server answers besides the loopback ones and ``host`` (the
            machine's name on the office network, when ``host`` is 0.0.0.0).
    """
    configure(workers)
    # Solara warns on every page load that a session cookie over http cannot be samesite=none; on this machine
    # (http://127.0.0.1) that is expected and says nothing to the planner
    warnings.filterwarnings("ignore", message="Cookies with samesite=none require https")
    try:
        import solara.server.starlette as solara_server
        import uvicorn
        from solara.__main__ import LOGGING_CONFIG
        from solara.server import settings
    except ImportError:
        print(
            "lithium-sim app: the workbench needs Solara; install it with: pip install -e '.[app]' "
            "(make app does this)",
            file=sys.stderr,
        )
        return 2
    from sim.app import budget

    settings.main.mode = "production"
    port = port or _free_port(host)
    os.environ["SERVER_NAME"], os.environ["SERVER_PORT"] = host, str(port)
    names = [*allow_hosts, *([] if _any_address(host) else [host])]
    budget.install()
    app = gate.guard(solara_server.app, names)
    shown = f"[{host}]" if ":" in host else host
    print(f"lithium-sim app: serving http://{shown}:{port}/ (Ctrl-C stops it)", flush=True)
    print(f"lithium-sim app: answering requests for {', '.join(gate.allowed_hosts(names))}", flush=True)
    if _any_address(host) and not list(allow_hosts):
        print(
            "lithium-sim app: listening on every address, but answering only this machine's loopback names; add "
            "--allow-host NAME for the name other machines use to reach it",
            flush=True,
        )
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_config=LOGGING_CONFIG,
        ws_max_size=gate.MAX_MESSAGE_BYTES,
        timeout_graceful_shutdown=5,
    )
    try:
        uvicorn.Server(config).run()
    except KeyboardInterrupt:  # Ctrl-C is how the workbench is stopped
        pass
    finally:
        budget.close()
    print("lithium-sim app: stopped", file=sys.stderr)
    return 0


def _any_address(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.strip("[]")).is_unspecified
    except ValueError:
        return False


def _free_port(host: str) -> int:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family) as probe:
        probe.bind((host.strip("[]"), 0))
        return probe.getsockname()[1]


if __name__ == "__main__":
    sys.exit(serve(*sys.argv[1:2], *(int(a) for a in sys.argv[2:3])))
