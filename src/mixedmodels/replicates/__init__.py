"""Work repeated over replicates: the bootstrap, power by simulation, many responses, allfit, and
the driver that runs them (the responses themselves are simulated by each fit's ``simulate_blocks``:
:mod:`mixedmodels.lmm.simulate`, :mod:`mixedmodels.replicates.glmm_bootstrap` for glmer fits).
"""
