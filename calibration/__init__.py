"""Calibration of the Suining lithium model: targets, free parameters, fitting, fit report (docs/model.md and calibration/README.md).

Targets (``targets.toml``) and free parameters (``free_parameters.toml``) are data. `calibration.fit`
fits the free parameters by simulated method of moments with common random numbers and scipy's
differential evolution, writes ``calibrated.toml`` (the parameter file scenarios use by default) and the
fit report (`calibration.report`). `calibration.recovery` checks that the procedure recovers known
parameters from targets the model itself generated.
"""
