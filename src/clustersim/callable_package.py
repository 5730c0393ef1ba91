"""Packages that can be called like the public function they are named after.

``clustersim.sweep`` and ``clustersim.plan`` are packages and public functions at once: a
subpackage replaces an attribute of the same name on ``clustersim`` as soon as it is imported,
so the package itself is made callable instead. :class:`CallablePackage` owns that: calling
the package calls :mod:`clustersim.api`'s function of the same name (imported then, so that
importing the package stays light), and ``inspect.signature`` and ``help`` show its signature.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from types import ModuleType
from typing import Any

__all__ = ["CallablePackage"]


class CallablePackage(ModuleType):
    """A package module whose call is ``clustersim.api.<its last name>``.

    A package becomes one with ``sys.modules[__name__].__class__ = CallablePackage``.
    """

    def _function(self) -> Callable[..., Any]:
        from clustersim import api

        function: Callable[..., Any] = getattr(api, self.__name__.rpartition(".")[2])
        return function

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Call the API function of the package's name with these arguments."""
        return self._function()(*args, **kwargs)

    @property
    def __signature__(self) -> inspect.Signature:
        """The signature of the API function, for ``help()`` and ``inspect``."""
        return inspect.signature(self._function())
