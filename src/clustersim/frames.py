"""pandas DataFrames of results (pandas is an optional extra: ``pip install 'clustersim[pandas]'``).

Owns the one place pandas is imported, and only when a frame is asked for, so that
``import clustersim`` and every run stay free of it; and the table shapes the result types
share: a summary flattened into one row (:func:`summary_row`: a ``*_ci95`` interval becomes
``*_ci95_low`` and ``*_ci95_high``, per-cause mappings are left to the causes table). Column
names carry their unit as the JSON keys do (``*_s``, ``*_h``, ``*_mwh``, ``*_usd``; ratios and
counts have none): docs/results.md defines them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from pydantic.functional_serializers import PlainSerializer

from clustersim.config import Scenario
from clustersim.config.overrides import field_of
from clustersim.config.units import format_bandwidth, format_bytes, format_duration

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["frame", "knob_column", "pandas", "summary_row"]

INSTALL_HINT = "DataFrames need pandas: pip install 'clustersim[pandas]'"
UNIT_SUFFIXES: dict[Any, str] = {
    format_duration: "_s",
    format_bytes: "_bytes",
    format_bandwidth: "_bytes_per_s",
}
"""The base unit of a field with human units, by the function that writes it back out."""


def pandas() -> Any:
    """The pandas module, imported now.

    Raises:
        ModuleNotFoundError: pandas is not installed (the message says how to install it).
    """
    try:
        import pandas
    except ModuleNotFoundError:
        raise ModuleNotFoundError(INSTALL_HINT, name="pandas") from None
    return pandas


def frame(rows: Iterable[Mapping[str, Any]], columns: Sequence[str] | None = None) -> pd.DataFrame:
    """A DataFrame of ``rows`` (one mapping per row); ``columns`` fixes their order.

    Without ``columns`` the order is that of the first row, then any key first seen later.
    """
    data = [dict(row) for row in rows]
    if columns is None:
        columns = list(dict.fromkeys(key for row in data for key in row))
    return pandas().DataFrame.from_records(data, columns=list(columns))


def knob_column(path: str) -> str:
    """A scenario path as a column of its base-unit values: ``checkpoint.interval_s``.

    Durations get ``_s``, sizes ``_bytes`` and bandwidths ``_bytes_per_s``; any other field
    (a count, a ratio, a name) keeps its path as it is.
    """
    field = field_of(Scenario, path)
    for meta in field.metadata if field is not None else ():
        if isinstance(meta, PlainSerializer) and meta.func in UNIT_SUFFIXES:
            return path + UNIT_SUFFIXES[meta.func]
    return path


def summary_row(summary: Mapping[str, Any]) -> dict[str, Any]:
    """A summary as one flat row: scalars as they are, intervals split, mappings left out."""
    row: dict[str, Any] = {}
    for key, value in summary.items():
        if key.endswith("_ci95"):
            low, high = value if value is not None else (None, None)
            row[f"{key}_low"], row[f"{key}_high"] = low, high
        elif not isinstance(value, Mapping | list | tuple):
            row[key] = value
    return row
