"""Suining lithium-industry simulator: an agent-based model of lithium salt, LFP cathode and battery firms."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("suining-lithium-sim")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+unknown"
