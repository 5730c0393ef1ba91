"""Tests for clustersim.config.parse and .compose: files, presets, --set, error positions, dumps."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from clustersim.config import (
    ConfigError,
    Scenario,
    UsageError,
    compose,
    dump_json_scenario,
    dump_yaml,
    list_presets,
    load_document,
    load_scenario,
    load_scenario_text,
    overrides,
    parse,
    preset_text,
    single_line,
)

MINIMAL = {"workload": {"jobs": [{"gpus": 8, "work": "1h"}]}}

YAML_TEXT = """\
name: small
description: |
  A small scenario.
  Second line.
cluster:
  pods: 1
  racks_per_pod: 4
storage:
  write_bandwidth: 2TB/s
workload:
  jobs:
    - name: train
      gpus: 16
      work: 2h
      checkpoint_bytes: 5.67TB
checkpoint:
  policy: fixed
  interval: 10m
faults:
  hw:
    rate: 6.5/1000 node-days
    repair:
      mean: 2h
run:
  seed: 3
"""

TOML_TEXT = """\
name = "small"
description = \"\"\"
A small scenario.
Second line.
\"\"\"

[cluster]
pods = 1
racks_per_pod = 4

[storage]
write_bandwidth = "2TB/s"

[[workload.jobs]]
name = "train"
gpus = 16
work = "2h"
checkpoint_bytes = "5.67TB"

[checkpoint]
policy = "fixed"
interval = "10m"

[faults.hw]
rate = "6.5/1000 node-days"
repair = { mean = "2h" }

[run]
seed = 3
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def config_error(path: Path, overrides: tuple[str, ...] = ()) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load_scenario(path, overrides)
    return info.value


def usage_error(source: str | Path, overrides: tuple[str, ...] = ()) -> str:
    with pytest.raises(UsageError) as info:
        load_scenario(source, overrides)
    return str(info.value)


# --- good files ------------------------------------------------------------------------------


def test_yaml_json_toml_load_equal_scenarios(tmp_path: Path) -> None:
    from_yaml = load_scenario(write(tmp_path, "s.yaml", YAML_TEXT))
    document, _ = load_document(YAML_TEXT, "s.yaml", "yaml")
    from_json = load_scenario(write(tmp_path, "s.json", json.dumps(document, indent=2)))
    from_toml = load_scenario(write(tmp_path, "s.toml", TOML_TEXT))
    assert from_yaml == from_json == from_toml
    assert from_yaml.description == "A small scenario.\nSecond line.\n"
    assert from_yaml.workload.jobs[0].work == 7200.0
    assert from_yaml.run.seed == 3


def test_yml_extension_and_string_path(tmp_path: Path) -> None:
    path = write(tmp_path, "s.yml", json.dumps(MINIMAL))
    assert load_scenario(str(path)) == Scenario.model_validate(MINIMAL)


def test_units_parse(tmp_path: Path) -> None:
    scenario = load_scenario(write(tmp_path, "s.yaml", YAML_TEXT))
    assert scenario.workload.jobs[0].work == 7200.0
    assert scenario.workload.jobs[0].checkpoint_bytes == 5.67e12
    assert scenario.storage.write_bandwidth == 2e12
    assert scenario.faults["hw"].rate == pytest.approx(6.5 / 1000 / 86400)
    assert scenario.checkpoint.interval == 600.0


def test_plain_data_only(tmp_path: Path) -> None:
    document, _ = load_document("a: 1\nb: [true, null, 2.5, x]\nc: {d: e}\n", "f.yaml", "yaml")
    assert document == {"a": 1, "b": [True, None, 2.5, "x"], "c": {"d": "e"}}
    assert type(document["a"]) is int
    assert type(document["b"][2]) is float
    assert type(document["c"]) is dict


def test_yaml_1_2_booleans_stay_strings() -> None:
    document, _ = load_document("name: yes\nother: on\n", "f.yaml", "yaml")
    assert document == {"name": "yes", "other": "on"}


# --- errors with positions -------------------------------------------------------------------


def test_negative_duration_has_position_and_path(tmp_path: Path) -> None:
    text = "workload:\n  jobs:\n    - gpus: 8\n      work: -5h\n"
    err = config_error(write(tmp_path, "s.yaml", text))
    assert err.messages == [
        f"{tmp_path / 's.yaml'}:4:13: workload.jobs.0.work: must not be negative, got '-5h'"
    ]
    assert err.exit_code == 65


def test_bad_type_and_unknown_key_all_reported(tmp_path: Path) -> None:
    text = 'workload:\n  jobs:\n    - gpus: "many"\n      work: 1h\n      gpu: 8\n'
    path = write(tmp_path, "s.yaml", text)
    err = config_error(path)
    assert len(err.messages) == 2
    first, second = err.messages
    assert first.startswith(f"{path}:3:13: workload.jobs.0.gpus: Input should be a valid integer")
    assert "'many'" in first
    assert second == f"{path}:5:7: workload.jobs.0.gpu: Extra inputs are not permitted"
    assert str(err) == "\n".join(err.messages)


def test_several_errors_sorted_by_position(tmp_path: Path) -> None:
    text = (
        "cluster:\n  pods: 0\n"
        "workload:\n  jobs:\n    - gpus: 0\n      work: 1h\n"
        "checkpoint:\n  policy: sometimes\n"
    )
    err = config_error(write(tmp_path, "s.yaml", text))
    assert [m.split(": ")[1] for m in err.messages] == [
        "cluster.pods",
        "workload.jobs.0.gpus",
        "checkpoint.policy",
    ]
    assert ":2:9: cluster.pods: Input should be greater than or equal to 1" in err.messages[0]
    assert ":5:13: " in err.messages[1]
    assert ":8:11: " in err.messages[2]


def test_missing_field_points_at_parent_mapping(tmp_path: Path) -> None:
    text = "run:\n  seed: 1\nworkload:\n  jobs:\n    - work: 1h\n"
    err = config_error(write(tmp_path, "s.yaml", text))
    assert err.messages[0].endswith(":5:7: workload.jobs.0.gpus: Field required")


def test_missing_workload_points_at_document(tmp_path: Path) -> None:
    err = config_error(write(tmp_path, "s.yaml", "run:\n  seed: 1\n"))
    assert err.messages[0].endswith("s.yaml:1:1: workload: Field required")


def test_json_positions(tmp_path: Path) -> None:
    text = '{\n  "workload": {\n    "jobs": [{"gpus": -1, "work": "1h"}]\n  }\n}\n'
    err = config_error(write(tmp_path, "s.json", text))
    assert err.messages[0].endswith(
        ":3:23: workload.jobs.0.gpus: Input should be greater than or equal to 1 (got -1)"
    )


def test_toml_positions_best_effort(tmp_path: Path) -> None:
    text = TOML_TEXT.replace("gpus = 16", "gpus = -16")
    err = config_error(write(tmp_path, "s.toml", text))
    line = text.splitlines().index("gpus = -16") + 1
    assert err.messages[0].startswith(f"{tmp_path / 's.toml'}:{line}:1: workload.jobs.0.gpus: ")


def test_long_input_is_shortened(tmp_path: Path) -> None:
    text = "workload:\n  jobs:\n    - gpus: 8\n      work: " + "x" * 300 + "\n"
    err = config_error(write(tmp_path, "s.yaml", text))
    assert len(err.messages) == 1
    assert "x" * 61 not in err.messages[0]
    assert "\n" not in err.messages[0]
    assert "http" not in err.messages[0]


def test_model_validator_error(tmp_path: Path) -> None:
    err = config_error(write(tmp_path, "s.yaml", "workload:\n  jobs: []\n"))
    assert err.messages[0].endswith(
        ":2:3: workload: workload needs at least one job, a generator or a trace"
    )


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("s.yaml", "workload: [1\nrun: 2\n", ":2:4: invalid YAML: "),
        ("s.yaml", "a: b: c\n", ":1:5: invalid YAML: mapping values are not allowed here"),
        ("s.yaml", "run: 1\nrun: 2\n", ":2:1: invalid YAML: found duplicate key"),
        ("s.json", '{"run": {}, "run": {}}', ":1:13: invalid JSON: found duplicate key"),
        ("s.json", '{"run": 1,\n}', ":2:1: invalid JSON: "),
        ("s.toml", "[run]\nseed = = 1\n", ":2:8: invalid TOML: "),
        ("s.toml", "a = 1\na = 2\n", ":2:"),
        ("s.yaml", "", ":1:1: the file is empty"),
        ("s.yaml", "  \n\n", ":1:1: the file is empty"),
        ("s.yaml", "# only a comment\n", ":1:1: the document is empty"),
        ("s.yaml", "- 1\n- 2\n", ":1:1: expected a mapping, got a list"),
        ("s.json", "[1, 2]", ":1:1: expected a mapping, got a list"),
        ("s.yaml", "just text\n", ":1:1: expected a mapping, got a string"),
        ("s.toml", "", ":1:1: the file is empty"),
        ("s.yaml", "run: !seed 3\n", ":1:6: run: unsupported YAML tag !seed"),
        ("s.yaml", "workload: !custom {jobs: []}\n", ":1:11: workload: unsupported YAML tag"),
        ("s.yaml", "when: 2001-01-01\n", ":1:7: when: unsupported value of type date"),
        ("s.toml", "when = 2001-01-01\n", ":1:1: when: unsupported value of type date"),
    ],
)
def test_bad_documents(tmp_path: Path, name: str, text: str, expected: str) -> None:
    path = write(tmp_path, name, text)
    err = config_error(path)
    assert len(err.messages) == 1
    assert err.messages[0].startswith(str(path) + expected), err.messages[0]


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_bytes(b"run:\n  seed: \xff\n")
    assert config_error(path).messages == [f"{path}:2:9: the file is not valid UTF-8"]


def test_standard_str_tag_is_plain(tmp_path: Path) -> None:
    document, _ = load_document("name: !!str 5\n", "s.yaml", "yaml")
    assert document == {"name": "5"}


# --- sources and presets ---------------------------------------------------------------------


def test_missing_file_is_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError) as info:
        load_scenario(tmp_path / "nope.yaml")
    assert info.value.exit_code == 2
    assert str(info.value) == f"{tmp_path / 'nope.yaml'}: no such file"
    assert "no such file" in usage_error("nope.yaml")
    assert "no such file" in usage_error("dir/nope")


def test_unsupported_extension(tmp_path: Path) -> None:
    path = write(tmp_path, "s.txt", "run: {}\n")
    assert "unsupported file type '.txt'" in usage_error(str(path))


def test_directory_is_unreadable(tmp_path: Path) -> None:
    (tmp_path / "d.yaml").mkdir()
    assert "cannot read" in usage_error(tmp_path / "d.yaml")


def test_unknown_preset_lists_known_ones() -> None:
    message = usage_error("no-such-preset")
    assert message.startswith("unknown preset 'no-such-preset' (known presets: ")
    for name, _ in list_presets():
        assert name in message
    with pytest.raises(UsageError):
        preset_text("no-such-preset")


def test_list_presets_is_sorted_with_one_line_descriptions() -> None:
    presets = list_presets()
    assert presets == sorted(presets)
    for name, description in presets:
        assert name and "\n" not in description
        assert preset_text(name)


def test_presets_from_a_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package = tmp_path / "fake_presets"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "b-small.yaml").write_text(
        "name: b\ndescription: |\n  First line.\n  Second.\n"
        + "workload: {jobs: [{gpus: 8, work: 1h}]}\n"
    )
    (package / "a-broken.yaml").write_text(
        "description: Broken\nworkload: {jobs: [{gpus: 0, work: 1h}]}\n"
    )
    (package / "notes.txt").write_text("not a preset")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(compose, "PRESET_PACKAGE", "fake_presets")
    assert list_presets() == [("a-broken", "Broken"), ("b-small", "First line.")]
    assert load_scenario("b-small").name == "b"
    # a Path object is always a file path, never a preset name
    assert usage_error(Path("a-broken")) == "a-broken: no such file"
    with pytest.raises(ConfigError) as info:
        load_scenario("a-broken")
    assert info.value.messages[0].startswith("presets/a-broken.yaml:2:26: workload.jobs.0.gpus: ")
    assert "known presets: a-broken, b-small)" in usage_error("c")


# --- --set overrides -------------------------------------------------------------------------


@pytest.fixture
def scenario_file(tmp_path: Path) -> Path:
    return write(tmp_path, "s.yaml", YAML_TEXT)


def test_set_good_values(scenario_file: Path) -> None:
    scenario = load_scenario(
        scenario_file,
        [
            "run.seed=7",
            "checkpoint.policy=daly",
            "checkpoint.interval=30m",
            "workload.jobs.0.gpus=8192",
            "faults.hw.repair={mean: 4h}",
            "restart.detection=90s",
            "name=other",
        ],
    )
    assert scenario.run.seed == 7
    assert scenario.checkpoint.policy == "daly"
    assert scenario.checkpoint.interval == 1800.0
    assert scenario.workload.jobs[0].gpus == 8192
    assert scenario.faults["hw"].repair.mean == 4 * 3600.0
    assert scenario.restart.detection == 90.0
    assert scenario.name == "other"


def test_set_applies_in_order(scenario_file: Path) -> None:
    assert load_scenario(scenario_file, ["run.seed=1", "run.seed=2"]).run.seed == 2


def test_set_on_minimal_scenario_creates_sections(tmp_path: Path) -> None:
    path = write(tmp_path, "s.json", json.dumps(MINIMAL))
    scenario = load_scenario(path, ["checkpoint.interval=10m", "workload.generator=null"])
    assert scenario.checkpoint.interval == 600.0


def test_set_unknown_key_suggests(scenario_file: Path) -> None:
    message = usage_error(scenario_file, ("run.sed=7",))
    assert message == "--set run.sed=7: unknown key 'run.sed' (did you mean 'run.seed'?)"
    assert "did you mean 'run.seed'" in usage_error(scenario_file, ("seed=7",))
    assert "'workload.jobs.0.gpus'" in usage_error(scenario_file, ("workload.job.0.gpus=1",))
    assert "is a value, not a mapping" in usage_error(scenario_file, ("run.seed.x=1",))


def test_set_bad_type_is_usage_error(scenario_file: Path) -> None:
    message = usage_error(scenario_file, ("run.seed=abc",))
    assert message.startswith("--set run.seed=abc: Input should be a valid integer")
    assert "\n" not in message
    nested = usage_error(scenario_file, ("faults.hw.repair={mean: -2h}",))
    assert nested.startswith("--set faults.hw.repair={mean: -2h}: faults.hw.repair.mean: ")
    assert "must not be negative" in nested


def test_set_model_check_is_attributed_to_override(scenario_file: Path) -> None:
    message = usage_error(scenario_file, ("cluster.spare_nodes=100",))
    assert message.startswith("--set cluster.spare_nodes=100: cluster: spare_nodes (100)")


def test_set_errors_in_created_sections_are_usage_errors(tmp_path: Path) -> None:
    path = write(tmp_path, "s.json", json.dumps(MINIMAL))
    message = usage_error(path, ("workload.generator.jobs=5",))
    assert message.startswith("--set workload.generator.jobs=5: workload.generator.window: ")


def test_set_errors_in_file_stay_config_errors(tmp_path: Path) -> None:
    path = write(tmp_path, "s.yaml", "workload:\n  jobs:\n    - gpus: 0\n      work: 1h\n")
    err = config_error(path, ("run.seed=4",))
    assert err.messages[0].startswith(f"{path}:3:13: workload.jobs.0.gpus: ")


def test_set_list_index_out_of_range(scenario_file: Path) -> None:
    message = usage_error(scenario_file, ("workload.jobs.3.gpus=8",))
    assert "list index 3 out of range (workload.jobs has 1 items)" in message
    assert "'x' is not an index" in usage_error(scenario_file, ("workload.jobs.x.gpus=8",))


def test_set_dict_key_must_exist(scenario_file: Path) -> None:
    message = usage_error(scenario_file, ("faults.sw.rate=1",))
    assert "faults has no key 'sw' (present: hw); give a new entry whole" in message


def test_set_adds_a_whole_new_dict_entry(scenario_file: Path) -> None:
    """``--set faults.tor={...}`` adds a fault source beside the file's (it was refused)."""
    tor = "faults.tor={kind: switch, level: rack, homing: dual, rate: 1/1000 switch-days}"
    sc = load_scenario(str(scenario_file), [tor])
    assert sorted(sc.faults) == ["hw", "tor"]
    assert sc.faults["tor"].kind == "switch" and sc.faults["tor"].homing == "dual"
    shares = load_scenario(str(scenario_file), ["scheduler.fair_share.shares.bob=2"])
    assert shares.scheduler.fair_share.shares == {"bob": 2.0}


@pytest.mark.parametrize("text", ["run.seed", "=3", "run..seed=3", "run.seed={a: [", ""])
def test_set_malformed(scenario_file: Path, text: str) -> None:
    assert usage_error(scenario_file, (text,)).startswith(f"--set {text}: ")


def test_set_malformed_reported_before_file_errors(tmp_path: Path) -> None:
    path = write(tmp_path, "s.yaml", "")
    assert usage_error(path, ("nonsense",)).startswith("--set nonsense: ")


# --- dumps -----------------------------------------------------------------------------------


def test_dump_yaml_round_trip_inline(scenario_file: Path) -> None:
    scenario = load_scenario(scenario_file)
    text = dump_yaml(scenario)
    assert load_scenario_text(text, "dump.yaml") == scenario
    assert "write_bandwidth: 2TB/s" in text
    assert "work: 2h" in text
    assert "description: |" in text
    assert "generator: null" in text
    keys = [line.split(":")[0] for line in text.splitlines() if line and line[0].isalpha()]
    # Every field but ``power``, ``fleet``, ``facility`` (unset) and ``network`` (all
    # defaults): left out, so older results dump as before.
    left_out = ("power", "fleet", "network", "facility")
    assert keys == [k for k in Scenario.model_fields if k not in left_out]


def test_dump_yaml_round_trip_minimal() -> None:
    scenario = Scenario.model_validate(MINIMAL)
    assert load_scenario_text(dump_yaml(scenario), "dump.yaml") == scenario


@pytest.mark.parametrize("name", [name for name, _ in list_presets()])
def test_dump_yaml_round_trip_presets(name: str) -> None:
    scenario = load_scenario(name)
    assert load_scenario_text(dump_yaml(scenario), "dump.yaml") == scenario
    assert load_scenario_text(json.dumps(dump_json_scenario(scenario)), "d.json", "json") == (
        scenario
    )


def test_dump_json_scenario(scenario_file: Path) -> None:
    scenario = load_scenario(scenario_file)
    data = dump_json_scenario(scenario)
    assert data["storage"]["write_bandwidth"] == "2TB/s"
    assert data["workload"]["jobs"][0]["work"] == "2h"
    assert Scenario.model_validate(json.loads(json.dumps(data))) == scenario


# --- input limits and hostile input (docs/config.md, "Input limits") ------------------------

JOB = "workload: {jobs: [{gpus: 8, work: 1h}]}\n"


def nested_yaml(levels: int) -> str:
    """``sources`` holding lists nested so the document has ``levels`` levels in all."""
    return "sources: " + "[" * (levels - 1) + "]" * (levels - 1) + "\n" + JOB


@pytest.mark.parametrize("fmt", ["yaml", "json", "toml"])
def test_nesting_limit_is_exact(fmt: str) -> None:
    inner = "[" * (parse.MAX_NESTING - 1) + "]" * (parse.MAX_NESTING - 1)
    text = {
        "yaml": f"x: {inner}\n",
        "json": '{"x": ' + inner + "}",
        "toml": f"x = {inner}\n",
    }[fmt]
    document, _ = load_document(text, f"f.{fmt}", fmt)  # MAX_NESTING levels: accepted
    assert "x" in document
    deeper = text.replace("[", "[[", 1).replace("]", "]]", 1)
    with pytest.raises(ConfigError) as info:
        load_document(deeper, f"f.{fmt}", fmt)
    (message,) = info.value.messages
    assert message.startswith(f"f.{fmt}:1:")
    assert message.endswith(f"nested more than {parse.MAX_NESTING} levels deep")


def test_nesting_limit_in_block_yaml_points_at_the_level() -> None:
    text = "a:\n" + "".join("  " * i + "- \n" for i in range(1, 2 * parse.MAX_NESTING))
    with pytest.raises(ConfigError) as info:
        load_document(text, "f.yaml", "yaml")
    # the mapping is level 1 and the list on line n level n: line MAX + 1 is one too many
    line, limit = parse.MAX_NESTING + 1, parse.MAX_NESTING
    assert info.value.messages == [
        f"f.yaml:{line}:{2 * line - 1}: nested more than {limit} levels deep"
    ]


def test_nesting_limit_with_toml_dotted_keys_and_brackets_in_strings() -> None:
    with pytest.raises(ConfigError) as info:
        load_document("key" + ".key" * 150 + " = 1\n", "f.toml", "toml")
    assert info.value.messages[0].endswith("levels deep")
    assert "..." in info.value.messages[0]  # the 32-segment path keeps its two ends
    text = 'x = "' + "[" * 300 + '" # ' + "{" * 300 + "\ny = '''" + "[" * 300 + "'''\n"
    assert load_document(text, "f.toml", "toml")[0]["x"] == "[" * 300
    json_text = '{"x": "' + "[" * 300 + '\\"' + "{" * 300 + '"}'
    assert load_document(json_text, "f.json", "json")[0]["x"].startswith("[[[")


def test_alias_expansion_limit() -> None:
    template = "t: &t {gpus: 8, work: 1h, name: j}\n"  # 7 values per alias
    jobs = ", ".join(["*t"] * 1000)
    document, _ = load_document(f"{template}jobs: [{jobs}]\n", "f.yaml", "yaml")
    assert len(document["jobs"]) == 1000
    bomb = "a: &a [" + ", ".join(["x"] * 1000) + "]\nb: [" + ", ".join(["*a"] * 200) + "]\n"
    with pytest.raises(ConfigError) as info:
        load_document(bomb, "f.yaml", "yaml")
    (message,) = info.value.messages
    assert message.startswith("f.yaml:2:")
    assert f"aliases expand the document to more than {parse.MAX_VALUES:,} values" in message


def test_repeated_anchor_and_merge_keys_still_work(recwarn: pytest.WarningsRecorder) -> None:
    text = "base: &b {gpus: 8}\njob: {<<: *b, work: 1h}\nname: &b x\nother: *b\n"
    document, _ = load_document(text, "f.yaml", "yaml")
    assert document["job"] == {"gpus": 8, "work": "1h"}
    assert document["other"] == "x"  # a redefined anchor is valid YAML: the later one wins
    assert not recwarn.list  # no ReusedAnchorWarning


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a: !!int abc\n", "f.yaml:1:4: a: cannot read 'abc' as an integer (!!int)"),
        ("a: !!float ''\n", "f.yaml:1:4: a: cannot read '' as a number (!!float)"),
        ("a: !!bool x\n", "f.yaml:1:4: a: cannot read 'x' as a boolean (!!bool)"),
        ("a: !!null x\n", "f.yaml:1:4: a: cannot read 'x' as null (!!null)"),
        ("a: !!set x\n", "f.yaml:1:4: a: unsupported YAML tag !!set; use plain data"),
        ("a: !!map x\n", "f.yaml:1:4: a: unsupported YAML tag !!map on a scalar; use plain data"),
        ("a: !!str [1]\n", "f.yaml:1:4: a: unsupported YAML tag !!str on a list; use plain data"),
        ("a: !!set {b}\n", "f.yaml:1:4: a: unsupported YAML tag !!set; use plain data"),
        ("a: !!omap [b: 1]\n", "f.yaml:1:4: a: unsupported YAML tag !!omap; use plain data"),
        ("a: !!python/object:os.system {}\n", "f.yaml:1:4: a: unsupported YAML tag !!python/"),
        ("!foo a: 1\n", "f.yaml:1:1: mapping key 'a' has unsupported YAML tag !foo"),
        ("a: 1" + "0" * 4300 + "\n", "f.yaml:1:4: a: integer of 4,301 digits is too long"),
        ("%YAML 1.1\n---\na: 1\n", "f.yaml:1:1: %YAML 1.1 is not supported: scenarios are"),
        ("<<: !foo {a: 1}\n", "f.yaml:1:5: unsupported YAML tag !foo in a merge (<<)"),
        ('a: "\\ud800"\n', "f.yaml:1:4: a: the lone surrogate \\ud800 in a string is not valid"),
        ('"\\udfff": 1\n', "f.yaml:1:1: mapping key '\\udfff': the lone surrogate \\udfff"),
        ("--- !!int 5\n", "f.yaml:1:1: expected a mapping, got an int"),
    ],
)
def test_hostile_yaml_is_one_located_line(text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_document(text, "f.yaml", "yaml")
    (message,) = info.value.messages
    assert message.startswith(expected), message


def test_core_tags_that_fit_still_load() -> None:
    text = "a: !!int 5\nb: !!float 5\nc: !!bool true\nd: !!null ~\ne: !!map {x: 1}\nf: !!seq [1]\n"
    document, _ = load_document(text + "g: <<\nh: =\n", "f.yaml", "yaml")
    assert document == {
        "a": 5,
        "b": 5.0,
        "c": True,
        "d": None,
        "e": {"x": 1},
        "f": [1],
        "g": "<<",
        "h": "=",
    }
    assert load_document("%YAML 1.2\n---\na: 1e3\n", "f.yaml", "yaml")[0] == {"a": 1000.0}


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("f.toml", "[run]\nseed = 1" + "0" * 4300 + "\n", "f.toml:2:8: integer of 4,301 digits"),
        ("f.json", '{"seed": 1' + "0" * 4300 + "}", "f.json:1:10: seed: integer of 4,301 digits"),
    ],
)
def test_integers_over_4300_digits(name: str, text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_document(text, name, name.split(".")[1])
    assert info.value.messages[0].startswith(expected), info.value.messages


def test_messages_are_single_lines() -> None:
    assert single_line("a\nb\r\x1b[2J\u2028\tc") == "a\\nb\\r\\x1b[2J\\u2028\tc"
    assert ConfigError(["f:1:1: a\nb"]).messages == ["f:1:1: a\\nb"]
    assert str(UsageError("--set a\nb")) == "--set a\\nb"
    err = load_document_error('{"a\\nb": 1, "c\\u0085d": {"e\\u2029": []}}', "f.json", "json")
    assert err is None
    error = usage_error("single-job", ("run.se\ned=1",))
    assert "\n" not in error and "run.se\\ned" in error


def load_document_error(text: str, name: str, fmt: str) -> ConfigError | None:
    try:
        load_document(text, name, fmt)
    except ConfigError as err:
        return err
    return None


def test_file_size_limit(tmp_path: Path) -> None:
    big = "# " + "x" * parse.MAX_FILE_BYTES + "\n" + JOB
    message = (
        f"the file is larger than {parse.MAX_FILE_BYTES:,} bytes, the limit for a scenario "
        "(for many jobs use a job's count or workload.generator)"
    )
    assert config_error(write(tmp_path, "big.yaml", big)).messages == [
        f"{tmp_path / 'big.yaml'}:1:1: {message}"
    ]
    with pytest.raises(ConfigError) as info:
        load_scenario_text(big, "big.toml", "toml")
    assert info.value.messages == [f"big.toml:1:1: {message}"]
    just = "#" * (parse.MAX_FILE_BYTES - len(JOB) - 1) + "\n" + JOB
    assert load_scenario_text(just, "ok.yaml").workload.jobs[0].gpus == 8


def test_set_values_are_bounded_too(scenario_file: Path) -> None:
    assert "recursive alias" in usage_error(scenario_file, ("sources=&a [*a]",))
    too_deep = "sources=" + "[" * (parse.MAX_NESTING + 1)
    assert f"nested more than {parse.MAX_NESTING}" in usage_error(scenario_file, (too_deep,))
    assert "4,301 digits" in usage_error(scenario_file, ("run.seed=1" + "0" * 4300,))
    assert "cannot read 'x' as a boolean" in usage_error(scenario_file, ("run.seed=!!bool x",))
    assert "not supported" in usage_error(scenario_file, ("run.seed=%YAML 1.1\n--- 1",))


def test_not_utf8_column_counts_characters(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_bytes("name: é".encode() + b"\xff\n")
    assert config_error(path).messages == [f"{path}:1:8: the file is not valid UTF-8"]


def test_unreadable_file_name_is_usage_error() -> None:
    assert "cannot read" in usage_error("x" * 5000 + ".yaml")


def test_value_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parse, "MAX_VALUES", 50)  # the real 200,000 take seconds to reach
    document, _ = load_document("a: [" + "1, " * 46 + "1]\n", "f.yaml", "yaml")  # 50 values
    assert len(document["a"]) == 47
    with pytest.raises(ConfigError) as info:
        load_document("a: [" + "1, " * 47 + "1]\n", "f.yaml", "yaml")
    assert info.value.messages == [  # at the 51st value: map, key, list, 48th item
        "f.yaml:1:146: the document holds more than 50 values "
        "(for many jobs use a job's count or workload.generator)"
    ]
    with pytest.raises(ConfigError) as info:
        load_document('{"a": [' + "1, " * 48 + "1]}", "f.json", "json")
    assert info.value.messages[0].startswith("f.json:1:")


def test_at_most_max_messages_problems_are_listed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(parse, "MAX_MESSAGES", 3)  # files that do not parse
    monkeypatch.setattr(overrides, "MAX_MESSAGES", 3)  # documents that do not validate
    path = write(tmp_path, "s.yaml", JOB + "".join(f"k{i}: 1\n" for i in range(5)))
    assert config_error(path).messages == [
        f"{path}:2:1: k0: Extra inputs are not permitted",
        f"{path}:3:1: k1: Extra inputs are not permitted",
        f"{path}:4:1: k2: Extra inputs are not permitted",
        f"{path}:5:1: and 2 more problems, not listed",
    ]
    path = write(tmp_path, "t.yaml", JOB + "".join(f"k{i}: !x 1\n" for i in range(4)))
    assert config_error(path).messages[3] == f"{path}:5:5: and 1 more problem, not listed"


def test_set_mapping_merges_into_the_section() -> None:
    """Issue 17 item 5: ``--set 'cluster={pods: 2}'`` keeps the preset's rack layout."""
    base = load_scenario("single-job").cluster
    merged = load_scenario("single-job", ["cluster={pods: 2, oversubscription: 2}"]).cluster
    assert (merged.pods, merged.oversubscription) == (2, 2.0)
    assert (merged.nodes_per_rack, merged.racks_per_pod) == (
        base.nodes_per_rack,
        base.racks_per_pod,
    )
    assert merged.n_nodes == 2 * base.n_nodes
    fault = load_scenario("single-job", ["faults.node={repair: {mean: 2h}}"]).faults["node"]
    assert (
        fault.repair.mean == 7200.0
        and fault.rate == load_scenario("single-job").faults["node"].rate
    )


def test_set_mapping_still_replaces_lists_and_named_entries() -> None:
    """Lists, ``faults`` (keyed by name) and a fault of another kind are replaced whole."""
    sc = load_scenario("single-job", ["faults={disk: {rate: 2/1000 node-days}}"])
    assert list(sc.faults) == ["disk"]
    assert load_scenario("single-job", ["faults={}"]).faults == {}
    jobs = load_scenario("single-job", ["workload={jobs: [{gpus: 8, work: 1h}]}"]).workload.jobs
    assert [j.gpus for j in jobs] == [8]
    sc = load_scenario("single-job", ["faults.node={kind: maintenance, every: 7d}"])
    assert sc.faults["node"].kind == "maintenance"


def test_maintenance_shows_as_planned_and_refuses_planned_false() -> None:
    """Issue 17 item 19: ``clustersim show`` printed ``planned: false`` for maintenance."""
    sc = load_scenario("llama3-405b")
    maintenance = [f for f in sc.faults.values() if f.kind == "maintenance"]
    assert maintenance and all(f.planned and f.is_planned for f in maintenance)
    text = dump_yaml(sc)
    assert load_scenario_text(text, "x.yaml") == sc
    assert all(
        fault["planned"] is True
        for fault in dump_json_scenario(sc)["faults"].values()
        if fault["kind"] == "maintenance"
    )
    with pytest.raises(UsageError, match="'maintenance' is always planned"):
        load_scenario("llama3-405b", ["faults.automated-maintenance.planned=false"])
