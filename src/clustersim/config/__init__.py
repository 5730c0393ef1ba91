"""Scenario configuration: the models, human units, and the edge from a file to a Scenario.

* :mod:`~clustersim.config.models`: frozen pydantic v2 models, one per concern, composed into
  a :class:`Scenario` (base units inside);
* :mod:`~clustersim.config.units`: human units (``"2h"``, ``"2TB/s"``) both ways;
* :mod:`~clustersim.config.parse`: YAML, JSON and TOML text into plain data with positions;
* :mod:`~clustersim.config.overrides`: what ``--set dotted.path=value`` (and the API's
  ``load(..., **{"path": value})``, ``Scenario.replace``) means, and validation with located
  one-line errors;
* :mod:`~clustersim.config.compose`: finding a file or preset, applying overrides to it, the
  list of presets, and writing a scenario back out;
* :mod:`~clustersim.config.errors`: :class:`ConfigError` (exit 65) and :class:`UsageError`
  (exit 2);
* ``presets/``: the built-in scenarios (YAML files shipped as package data).

The names most callers need are re-exported here.
"""

from clustersim.config.compose import (
    dump_json_scenario,
    dump_yaml,
    list_presets,
    load_scenario,
    load_scenario_text,
    preset_text,
)
from clustersim.config.errors import ConfigError, Problem, UsageError, single_line
from clustersim.config.models import (
    MAX_INT,
    CheckpointConfig,
    ClusterConfig,
    CorrelatedConfig,
    CostConfig,
    DurationConfig,
    EstimateConfig,
    FairShareConfig,
    FaultConfig,
    FaultSpec,
    FleetConfig,
    GeneratorConfig,
    HazardConfig,
    JobClass,
    JobSpec,
    LemonConfig,
    PowerConfig,
    QuarantineConfig,
    RefreshConfig,
    RepairConfig,
    RepairShopConfig,
    RestartConfig,
    RunConfig,
    Scenario,
    SchedulerConfig,
    StorageConfig,
    TiresiasConfig,
    TraceWorkloadConfig,
    UsersConfig,
    WorkloadConfig,
)
from clustersim.config.network import NetworkConfig
from clustersim.config.parse import load_document

__all__ = [
    "MAX_INT",
    "CheckpointConfig",
    "ClusterConfig",
    "ConfigError",
    "CorrelatedConfig",
    "CostConfig",
    "DurationConfig",
    "EstimateConfig",
    "FairShareConfig",
    "FaultConfig",
    "FaultSpec",
    "FleetConfig",
    "GeneratorConfig",
    "HazardConfig",
    "JobClass",
    "JobSpec",
    "LemonConfig",
    "NetworkConfig",
    "PowerConfig",
    "Problem",
    "QuarantineConfig",
    "RefreshConfig",
    "RepairConfig",
    "RepairShopConfig",
    "RestartConfig",
    "RunConfig",
    "Scenario",
    "SchedulerConfig",
    "StorageConfig",
    "TiresiasConfig",
    "TraceWorkloadConfig",
    "UsageError",
    "UsersConfig",
    "WorkloadConfig",
    "dump_json_scenario",
    "dump_yaml",
    "list_presets",
    "load_document",
    "load_scenario",
    "load_scenario_text",
    "preset_text",
    "single_line",
]
