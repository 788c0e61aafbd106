"""Linear mixed models: ``lmer``, its engine, the fit, predictions, and the Dask fit."""
