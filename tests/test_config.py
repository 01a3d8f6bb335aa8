import dataclasses
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
