"""clustersim: a discrete-event simulator of very large GPU training clusters.

It schedules gang-scheduled training jobs onto a topology of nodes, racks and pods, injects
failures, and measures what they cost (checkpoint overhead, lost work, restart time, ETTR,
goodput, GPU-hours and energy wasted).
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
