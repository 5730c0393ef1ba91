"""The output side: results rendered for people, after the fact.

* :mod:`~clustersim.output.terminal`: rich tables of a run and of the validation cases (with
  ``cli.py``, the only code that knows about the terminal);
* :mod:`~clustersim.output.page`: the one-page HTML or Markdown report of ``clustersim report``;
* :mod:`~clustersim.output.plots`: PNG figures of a run (matplotlib, an optional extra).

These modules take finished results; nothing that produces results imports them.
"""
