"""Command-line glue for subcommands that live outside ``cli.py``, one module per command.

Each module defines ``register(sub)`` and ``run(args) -> int`` and takes what it shares with
``cli.py`` from ``common``, never from ``cli.py`` itself. The library logic lives elsewhere
(``clustersim.sweep``, ``clustersim.plan``, ``clustersim.traces``); these modules only parse
flags, call it and render its output.

:data:`COMMANDS` names them with their one-line help: ``cli.py`` lists every command in
``clustersim --help`` from it and imports a command's module (``cli._command_module``) only
when that command is the one run, so that a command pays for no other command's parser.
"""

__all__ = ["COMMANDS"]

COMMANDS = {
    "trace": "inspect, convert and fit workload/failure traces",
    "sweep": "run a grid of --set values x replications (Dask, process pool or serial)",
    "plot": "plot a sweep results file: a metric vs a knob, 95 %% bands, optimum markers",
    "report": "one HTML/Markdown page of a `clustersim run --json` result",
    "plan": "cheapest checkpoint/storage/spares/restart settings that reach a target ETTR",
}
"""Each command's name and its help in ``clustersim --help`` (argparse ``%`` escapes), in the
order listed there (after ``run``, ``presets``, ``validate`` and ``show``)."""
