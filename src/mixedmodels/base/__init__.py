"""What every layer uses: the warning class, options, progress bars, BLAS threads, Dask plumbing,
information criteria, the fit protocols.
"""
