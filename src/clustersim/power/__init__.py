"""Facility power: the step function of a run and energy from the GPU-seconds ledger.

* :mod:`~clustersim.power.steps`: :class:`~clustersim.power.steps.StepFunction` (the
  power series as an exact step function; energy, bins, peak) and swings;
* :mod:`~clustersim.power.energy`: energy by state, by part and by cause from the
  GPU-seconds identity and a resolved :class:`~clustersim.config.PowerConfig`, and the
  ``power`` section of a result.

The hardware profiles and the ``power:`` config section are :mod:`clustersim.config.power`;
the component that writes the series during a run is :mod:`clustersim.engine.power`.
"""
