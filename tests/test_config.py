import dataclasses
import re
import subprocess
import sys

import pytest
import yaml
from conftest import ROOT, cli_env, parse_summary

from vidclf.config import DEFAULT_CONFIG, Config, StreamConfig, from_dict, load_config, override, resolve_paths
from vidclf.errors import VidclfError


def test_shipped_config_loads_and_matches_defaults():
    cfg = load_config()
    assert cfg == resolve_paths(Config(), DEFAULT_CONFIG.parent), "config.yaml and the dataclass defaults have drifted apart"


def test_paths_in_a_config_file_are_relative_to_that_file(tmp_path):
    folder = tmp_path / "project"
    folder.mkdir()
    cfg_file = folder / "c.yaml"
    cfg_file.write_text(
        "model:\n  path: m/x.tflite\nsource:\n  source: rtsp://cam/live\ntrain:\n  extra_data_dirs: [a, /abs/b]\n"
    )
    cfg = load_config(cfg_file)
    assert cfg.model.path == str(folder / "m" / "x.tflite")
    assert cfg.source.source == "rtsp://cam/live"  # URLs and webcam indexes are not paths
    assert cfg.train.extra_data_dirs == [str(folder / "a"), "/abs/b"]
    assert override(cfg, {"model.path": "y.tflite"}).model.path == "y.tflite"  # a flag: relative to the shell's folder
    assert cfg.evaluate.clips == str(DEFAULT_CONFIG.parent / "../shared/data/clips")  # a default: the project's
    cfg_file.write_text("source:\n  source: 0\n")
    assert load_config(cfg_file).source.source == "0"


@pytest.mark.slow
def test_the_default_command_works_from_another_folder(tmp_path, shared):
    result = subprocess.run(
        [sys.executable, str(ROOT / "stream_classify.py"), "--no-display"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=cli_env(),
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert parse_summary(result.stdout)["shown"] == 300


def test_every_setting_is_documented_in_config_yaml():
    data = yaml.safe_load(DEFAULT_CONFIG.read_text())
    for section in dataclasses.fields(Config):
        defaults = getattr(Config(), section.name)
        if isinstance(defaults, list):  # sources: an empty list, its entries' keys explained above it
            comment = DEFAULT_CONFIG.read_text().split("\n# Several sources")[1]
            assert data[section.name] == [] and all(f.name in comment for f in dataclasses.fields(StreamConfig))
            continue
        assert set(data[section.name]) == {f.name for f in dataclasses.fields(defaults)}, section.name


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"smoothing": {"sise": 3}}, "unknown key smoothing.sise"),
        ({"smoothing": {"size": 0}}, "smoothing.size must be >= 1"),
        ({"smoothing": {"size": "many"}}, "smoothing.size must be an integer"),
        ({"smoothing": {"mode": "median"}}, "smoothing.mode must be one of mean, ema, none"),
        ({"source": {"queue_size": 2.5}}, "source.queue_size must be an integer"),
        ({"display": {"top_k": True}}, "display.top_k must be an integer"),
        ({"bogus": {}}, "unknown key bogus"),
        ({"model": "x"}, "model must be a mapping"),
        ({"train": {"classes": 5}}, "train.classes must be a list"),
    ],
)
def test_bad_values_name_the_key(data, message):
    with pytest.raises(VidclfError, match=message.replace(".", r"\.")):
        from_dict(data)


def test_cli_override_is_validated_and_applied():
    cfg = override(Config(), {"smoothing.size": 32, "source.source": 0, "output.video": None})
    assert cfg.smoothing.size == 32
    assert cfg.source.source == "0"
    with pytest.raises(VidclfError, match="command line: smoothing.size must be >= 1"):
        override(cfg, {"smoothing.size": -1})


def test_bad_yaml_file_reports_file_and_line(tmp_path):
    bad = tmp_path / "c.yaml"
    bad.write_text("smoothing:\n  size: [1,\n")
    with pytest.raises(VidclfError, match=r"c\.yaml line \d+: invalid YAML"):
        load_config(bad)
    bad.write_text("smoothing:\n  size: 0\n")
    with pytest.raises(VidclfError, match=r"c\.yaml: smoothing\.size must be >= 1"):
        load_config(bad)


def test_every_bad_setting_is_reported_at_once(tmp_path):
    bad = tmp_path / "c.yaml"
    bad.write_text("smoothing:\n  size: 0\n  mode: median\nmodel:\n  threads: many\nbogus: {}\nsources:\n  - classify_fps: -1\n")
    with pytest.raises(VidclfError) as caught:
        load_config(bad)
    message = str(caught.value)
    assert "\n" not in message and message.startswith("c.yaml: 5 problems: ")
    for part in (
        "smoothing.size must be >= 1",
        "smoothing.mode must be one of",
        "model.threads must be an integer",
        "unknown key bogus",
        "sources[0].classify_fps must be >= 0.1",
    ):
        assert part in message, part


def _run_parser(command: str):
    import argparse

    from vidclf.cli import main
    from vidclf.cli.common import HelpFormatter

    parser = argparse.ArgumentParser(formatter_class=HelpFormatter)
    main.COMMANDS[command].add_arguments(parser)
    return parser


def test_each_declared_flag_is_generated_with_its_type_choices_help_and_group():
    """A field that declares a flag is a flag of every command that takes its group: its
    type converts, its choices are enforced, its help and config key show in --help."""
    from vidclf.cli.common import FLAG_GROUPS, config_fields, config_overrides

    parser = _run_parser("run")
    text = " ".join(parser.format_help().split())  # lines wrap anywhere
    run_groups = ("source", "model", "labels", "outputs", "events", "live", "performance")
    declared = config_fields(run_groups)
    assert len(declared) >= 35
    for key, f, _tp in declared:
        assert f.metadata["flags"][0] in text and f"config {key}" in text, key
        assert FLAG_GROUPS[f.metadata["group"]] + ":" in text
    args = parser.parse_args(["--size", "32", "--classify-fps", "7.5", "--no-scene-cut", "--input-fit", "squash"])
    values = config_overrides(parser, args)
    assert values["smoothing.size"] == 32 and values["model.classify_fps"] == 7.5
    assert values["smoothing.scene_cut"] is False and values["model.input_fit"] == "squash"
    assert values["output.video"] is None  # not given: the config's value stays
    with pytest.raises(SystemExit):
        parser.parse_args(["--input-fit", "stretch"])  # choices come from the field


def test_set_reaches_any_key_and_adds_to_a_mapping():
    from vidclf.cli.common import config_overrides

    parser = _run_parser("run")
    args = parser.parse_args(
        ["--set", "smoothing.class_thresholds.tennis=0.5", "--set", "events.webhook_retries=5", "--set", "train.classes=[a, b]"]
    )
    cfg = override(Config(), config_overrides(parser, args))
    assert cfg.smoothing.class_thresholds == {"tennis": 0.5} and cfg.events.webhook_retries == 5
    assert cfg.train.classes == ["a", "b"]
    with_model = override(Config(), {"smoothing.class_thresholds": {"basketball": 0.4}})
    assert override(with_model, {"smoothing.class_thresholds": {"tennis": 0.5}}).smoothing.class_thresholds == {
        "basketball": 0.4,
        "tennis": 0.5,
    }
    for bad, message in (
        ("events.webhook_retries=-1", "events.webhook_retries must be >= 0"),
        ("smoothing.sise=3", "unknown setting 'smoothing.sise'"),
        ("novalue", "--set wants KEY=VALUE"),
    ):
        with pytest.raises(VidclfError, match=re.escape(message)):
            override(Config(), config_overrides(parser, parser.parse_args(["--set", bad])))


def test_a_bad_set_value_is_one_error_line():
    result = subprocess.run(
        [sys.executable, "-m", "vidclf", "run", "--no-display", "--set", "smoothing.size=0", "--set", "model.threads=0"],
        capture_output=True,
        text=True,
        env=cli_env(),
        timeout=120,
        cwd=ROOT,
    )
    assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr
    assert "smoothing.size must be >= 1" in result.stderr and "model.threads must be >= 1" in result.stderr


def test_the_configuration_reference_is_generated_from_the_fields():
    """docs/configuration.md is what tools/config_reference.py makes of the dataclasses now."""
    check = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "config_reference.py"), "--check"], capture_output=True, text=True, timeout=60
    )
    assert check.returncode == 0, check.stderr
    text = (ROOT / "docs" / "configuration.md").read_text()
    assert "| `size` | `8` | 1 – 10000 | `--size` | K, predictions in the rolling average |" in text
