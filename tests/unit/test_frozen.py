"""``quick_init`` builds every record and view exactly as the dataclass's own ``__init__``.

For each class the package decorates, objects built both ways (positional, keyword, with
and without defaults) hold the same objects in every field; both refuse the same bad calls;
and the class stays frozen. Classes the decorator cannot reproduce are refused at import.
"""

from __future__ import annotations

import dataclasses
import importlib
from dataclasses import dataclass, field
from typing import Any

import pytest

from clustersim.frozen import quick_init

MODULES = (
    "clustersim.events",
    "clustersim.views",
    "clustersim.checkpoint",
    "clustersim.job",
    "clustersim.cluster",
    "clustersim.workload",
    "clustersim.metrics",
)


def decorated() -> list[type]:
    found = []
    for name in MODULES:
        module = importlib.import_module(name)
        for obj in vars(module).values():
            if isinstance(obj, type) and "__dataclass_init__" in obj.__dict__:
                found.append(obj)
    return found


CLASSES = decorated()


def test_the_records_and_views_are_decorated() -> None:
    names = {cls.__name__ for cls in CLASSES}
    assert {"RunEnded", "NodeFailed", "RunningView", "JobView", "ClusterView"} <= names
    assert {"EpochState", "Failure", "Placement", "JobRecord", "JobRow"} <= names
    assert len(CLASSES) >= 35


def by_dataclass(cls: type, *args: Any, **kwargs: Any) -> Any:
    obj = object.__new__(cls)
    cls.__dataclass_init__(obj, *args, **kwargs)  # type: ignore[attr-defined]
    return obj


def same_fields(a: Any, b: Any) -> bool:
    return all(getattr(a, f.name) is getattr(b, f.name) for f in dataclasses.fields(a))


@pytest.mark.parametrize("cls", CLASSES, ids=lambda cls: cls.__name__)
def test_quick_init_equals_the_dataclass_init(cls: type) -> None:
    fields = dataclasses.fields(cls)
    values = [object() for _ in fields]
    positional = [v for f, v in zip(fields, values, strict=True) if not f.kw_only]
    keywords = {f.name: v for f, v in zip(fields, values, strict=True) if f.kw_only}
    assert same_fields(cls(*positional, **keywords), by_dataclass(cls, *positional, **keywords))
    everything = {f.name: v for f, v in zip(fields, values, strict=True)}
    assert same_fields(cls(**everything), by_dataclass(cls, **everything))
    required = {
        f.name: v for f, v in zip(fields, values, strict=True) if f.default is dataclasses.MISSING
    }
    quick = cls(**required)
    assert same_fields(quick, by_dataclass(cls, **required))
    assert quick == by_dataclass(cls, **required)
    for f in fields:
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(quick, f.name, 1.0)
    for bad_args, bad_kwargs in (((), {**required, "no_such_field": 1}), ((*values, 1), {})):
        with pytest.raises(TypeError):
            cls(*bad_args, **bad_kwargs)
        with pytest.raises(TypeError):
            by_dataclass(cls, *bad_args, **bad_kwargs)
    if required:
        with pytest.raises(TypeError):
            cls()


def test_keyword_only_fields_stay_keyword_only() -> None:
    @quick_init
    @dataclass(frozen=True, slots=True, kw_only=True)
    class K:
        a: int
        b: int = 2

    assert K(a=1) == K(a=1, b=2)
    with pytest.raises(TypeError):
        K(1)  # type: ignore[misc]


def test_what_it_cannot_reproduce_is_refused() -> None:
    @dataclass(slots=True)
    class Mutable:
        a: int

    @dataclass(frozen=True)
    class Unslotted:
        a: int

    @dataclass(frozen=True, slots=True)
    class Factory:
        a: list[int] = field(default_factory=list)

    @dataclass(frozen=True, slots=True)
    class Post:
        a: int

        def __post_init__(self) -> None:
            pass

    for cls in (Mutable, Unslotted, Factory, Post):
        with pytest.raises(TypeError, match="quick_init"):
            quick_init(cls)
