"""Suining lithium-industry simulator: an agent-based model of lithium salt, LFP cathode and battery firms.

The Python API (see `sim.api`) is available from the package: ``sim.load_scenario``, ``sim.override``,
``sim.run``, ``sim.compare_runs``, ``sim.load_scenario_text`` (a scenario uploaded as text), ``sim.RunResult``,
``sim.Scenario``. It is imported on first use, so ``import sim`` stays cheap and free of side effects (importing
Mesa sets the multiprocessing start method).
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("suining-lithium-sim")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+unknown"

# public name -> name in sim.api (``sim.outputs.compare`` is the module, so the function is ``compare_runs`` here)
_API = {
    "load_scenario": "load_scenario",
    "load_scenario_text": "load_scenario_text",
    "override": "override",
    "run": "run",
    "compare_runs": "compare",
    "RunResult": "RunResult",
    "Scenario": "Scenario",
}
__all__ = ["__version__", *_API]


def __getattr__(name: str):
    if name in _API:
        from sim import api

        return getattr(api, _API[name])
    raise AttributeError(f"module 'sim' has no attribute '{name}'")


def __dir__() -> list[str]:
    return sorted({*globals(), *_API})
