"""clustersim: a discrete-event simulator of very large GPU training clusters.

It schedules gang-scheduled training jobs onto a topology of nodes, racks and pods, injects
failures, and measures what they cost (checkpoint overhead, lost work, restart time, ETTR,
goodput, GPU-hours and energy wasted).
"""

from clustersim.version import __version__

__all__ = ["__version__", "sweep"]


def __getattr__(name: str) -> object:
    """Import ``clustersim.sweep`` (a callable package) on first use.

    Not with the package, so that ``import clustersim`` stays light.
    """
    if name == "sweep":
        import clustersim.sweep

        return clustersim.sweep
    raise AttributeError(f"module 'clustersim' has no attribute {name!r}")
