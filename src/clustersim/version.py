"""The version of clustersim, recorded in every result (``clustersim_version``)."""

__version__ = "0.1.0"
