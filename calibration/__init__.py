"""Calibration of the Suining lithium model: targets, free parameters, fitting and the fit report.

Targets (``targets.toml``) and free parameters (``free_parameters.toml``) are data. `calibration.fit` fits
the free parameters by simulated method of moments with common random numbers and scipy's differential
evolution, group by group (the firms' parameters on scenario ``baseline``, then the market mode's on
``baseline_market``) and writes the text of ``calibrated.toml`` (the parameter file scenarios use by default);
`calibration.report` analyses the fit (with a rolling-origin backtest) and writes the report;
`calibration.command` is the ``lithium-sim calibrate`` command that runs the two. `calibration.recovery` checks that the
procedure recovers known parameters from targets the model itself generated. The package reaches the model
through `sim.api` only (calibration/README.md).
"""
