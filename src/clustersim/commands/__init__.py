"""Command-line glue for subcommands that live outside ``cli.py``, one module per command.

Each module defines ``register(sub)`` and ``run(args) -> int`` (see ``cli.COMMAND_MODULES``)
and takes what it shares with ``cli.py`` from ``common``, never from ``cli.py`` itself. The
library logic lives elsewhere (``clustersim.sweep``, ``clustersim.plan``,
``clustersim.traces``); these modules only parse flags, call it and render its output.
"""
