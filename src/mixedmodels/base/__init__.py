"""What every layer uses: the warning class, options, progress bars, BLAS threads, information
criteria, the fit protocols.
"""
