"""Work repeated over replicates: simulate, bootstrap, power, many responses, allfit, and the driver
that runs them.
"""
