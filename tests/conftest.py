"""Shared pytest configuration: Hypothesis profiles ``dev``, ``ci``, ``thorough`` and ``fuzz``.

``ci`` is loaded when the ``CI`` environment variable is set; otherwise ``HYPOTHESIS_PROFILE``
names the profile, defaulting to ``dev``.
"""

from __future__ import annotations

import os

from hypothesis import settings

settings.register_profile("dev", max_examples=20, deadline=None)  # no wall-clock deadlines
settings.register_profile("ci", max_examples=100, derandomize=True, deadline=None)
settings.register_profile("thorough", max_examples=1000, deadline=None)
settings.register_profile("fuzz", max_examples=10_000, deadline=None)  # the 10k-example runs
settings.load_profile("ci" if os.environ.get("CI") else os.environ.get("HYPOTHESIS_PROFILE", "dev"))
