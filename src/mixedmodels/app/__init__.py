"""The command line and the seed's comparison."""
