"""Calibration of the Suining lithium model: targets, free parameters, fitting and the fit report.

Targets (``targets.toml``) and free parameters (``free_parameters.toml``) are data. `calibration.fit` fits
the free parameters by simulated method of moments with common random numbers and scipy's differential
evolution, group by group (the firms' parameters on scenario ``baseline``, then the market mode's on
``baseline_market``), writes ``calibrated.toml`` (the parameter file scenarios use by default) and the fit
report (`calibration.report`, with a rolling-origin backtest). `calibration.recovery` checks that the
procedure recovers known parameters from targets the model itself generated. The package reaches the model
through `sim.api` only (calibration/README.md).
"""
