"""The base of every error clustersim raises for bad input, and the resource guard's error.

Library code never exits the process and never prints: it raises one of these, and the command
line (``cli.py``) turns each into one line on stderr and an exit code (``exit_code``).

* :class:`ClusterSimError`: the base; ``except clustersim.ClusterSimError`` catches any of them.
* :class:`~clustersim.config.errors.ConfigError`: bad data in a scenario or input file, with
  the file, line, column and dotted path of every problem (exit 65).
* :class:`~clustersim.config.errors.UsageError`: a bad request: an unknown preset, override
  key or option, a file that cannot be read (exit 2).
* :class:`ResourceError`: a scenario too big for the run's event or memory budget (exit 65).
* :class:`~clustersim.files.OutputError`: an output could not be written (exit 74).

A failed internal check (:class:`~clustersim.experiment.IdentityError`) is a bug, not bad
input, and is an ``AssertionError`` instead. What is worth saying but not an error (a setting
that has no effect, a job that can never be placed) is a :class:`ClusterSimWarning` through
Python's ``warnings``; the command line shows each as one ``clustersim: warning:`` line.
"""

from __future__ import annotations

from typing import ClassVar

__all__ = ["ClusterSimError", "ClusterSimWarning", "ResourceError"]


class ClusterSimError(Exception):
    """Bad input or a refused request; ``exit_code`` is what the command line exits with."""

    exit_code: ClassVar[int] = 1


class ResourceError(ClusterSimError):
    """The scenario would exceed the run's event or memory budget (``run.max_events``, ...)."""

    exit_code: ClassVar[int] = 65


class ClusterSimWarning(UserWarning):
    """Something the input asks for that will not happen as asked (a setting with no effect)."""
