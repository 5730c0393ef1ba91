"""The simulator's references: closed forms, a vectorised Monte Carlo, and validation cases.

* :mod:`~clustersim.analysis.analytic`: closed-form reliability models (Young, Daly, the exact
  segment time, ETTR), pure functions of floats, with :mod:`~clustersim.analysis.poisson`
  (Poisson counts, spare pools), :mod:`~clustersim.analysis.lambertw` and the argument checks
  of :mod:`~clustersim.analysis.checks`;
* :mod:`~clustersim.analysis.mc`: a numpy Monte Carlo of one checkpointed job (DES semantics);
* :mod:`~clustersim.analysis.validate`: ``clustersim validate``, simulation against formula
  against published numbers; its cases are the :mod:`~clustersim.analysis.cases` package.

Nothing is imported here: the engine uses ``analytic`` while ``validate`` runs the engine, so
this package's ``__init__`` must not pull the modules in.
"""
