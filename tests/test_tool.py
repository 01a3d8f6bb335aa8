"""vidclf as a tool: the installed package without TensorFlow, the ``vidclf`` command and
its subcommands, and the Python API -- all run for real (a fresh venv, subprocesses, the
bundled model and clip)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from conftest import CLIPS, KERAS_MODEL, MODEL, ROOT, assert_one_line_error, cli_env, parse_summary, read_jsonl

import vidclf
from vidclf.errors import VidclfError

DEMO = ROOT / "models" / "demo" / "basketball_gym_shooting.mp4"
XNNPACK_LINE = "XNNPACK delegate"


def vidclf_cli(*args: str, cwd: Path = ROOT, timeout: float = 180) -> subprocess.CompletedProcess:
    """``python -m vidclf ...`` from ``cwd`` (the checkout on the import path)."""
    env = cli_env(PYTHONPATH=str(ROOT))
    return subprocess.run(
        [sys.executable, "-m", "vidclf", *args], cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env
    )


# -- the installed package ------------------------------------------------------------------


@pytest.fixture(scope="module")
def runtime_venv(tmp_path_factory) -> Path:
    """A fresh venv with ``pip install <copy of the checkout>``: the runtime install only."""
    base = tmp_path_factory.mktemp("runtime")
    source = base / "src"
    ignore = shutil.ignore_patterns(".git", "runs", "build", "*.egg-info", "__pycache__", ".pytest_cache", ".ruff_cache")
    shutil.copytree(ROOT, source, ignore=ignore)
    venv = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    pip = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check", str(source)],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert pip.returncode == 0, pip.stderr[-3000:]
    return venv


def _in_venv(venv: Path, *args: str, cwd: Path, timeout: float = 180) -> subprocess.CompletedProcess:
    env = {k: v for k, v in cli_env().items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PATH"] = f"{venv / 'bin'}:{env.get('PATH', '')}"
    return subprocess.run(
        [str(venv / "bin" / "vidclf"), *args], cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env
    )


@pytest.mark.slow
def test_runtime_install_has_no_tensorflow_and_runs_the_default_from_any_folder(runtime_venv, tmp_path):
    python = str(runtime_venv / "bin" / "python")
    probe = subprocess.run(
        [python, "-c", "import importlib.util as u, vidclf.assets as a; print(u.find_spec('tensorflow'), a.installed())"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert probe.stdout.split() == ["None", "True"], probe.stderr  # no TensorFlow; bundled files in the package

    result = _in_venv(runtime_venv, "run", "--no-display", "--results", "out.jsonl", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    summary = parse_summary(result.stdout)
    assert summary["ended_by"] == "end of stream" and summary["shown"] == 300
    assert "_bundled" in result.stdout  # the demo clip came from inside the installed package
    assert len(read_jsonl(tmp_path / "out.jsonl")) == 300  # outputs land in the user's folder
    assert XNNPACK_LINE not in result.stderr  # native chatter silenced


@pytest.mark.slow
def test_runtime_install_runs_another_tflite_model_and_refuses_keras_in_one_line(runtime_venv, tmp_path):
    int8 = ROOT / "models" / "sports22.int8.tflite"
    clip = CLIPS / "fencing_short_bout.mp4" if (CLIPS / "fencing_short_bout.mp4").exists() else DEMO
    result = _in_venv(runtime_venv, "run", "--model", str(int8), "--source", str(clip), "--no-display", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert parse_summary(result.stdout)["shown"] > 0

    keras = _in_venv(runtime_venv, "run", "--model", str(KERAS_MODEL), "--no-display", cwd=tmp_path)
    assert_one_line_error(keras, "needs TensorFlow", "vidclf[train]")
    train = _in_venv(runtime_venv, "train", cwd=tmp_path)
    assert_one_line_error(train, "training needs TensorFlow")
    info = _in_venv(runtime_venv, "info", cwd=tmp_path)
    assert info.returncode == 0 and "TensorFlow absent" in info.stdout, info.stdout + info.stderr


# -- the command ----------------------------------------------------------------------------


def test_version_and_help_show_the_config_defaults():
    version = vidclf_cli("--version")
    assert version.returncode == 0 and version.stdout.strip() == f"vidclf {vidclf.__version__}"
    top = vidclf_cli("--help")
    for command in ("run", "evaluate", "train", "export", "info"):
        assert command in top.stdout
    run_help = vidclf_cli("run", "--help")
    assert run_help.returncode == 0
    flat = " ".join(run_help.stdout.split())
    assert "(default: 8; config smoothing.size)" in flat
    assert "(default: models/sports22.tflite; config model.path)" in flat
    # the script entry points are the same commands
    script = subprocess.run([sys.executable, str(ROOT / "stream_classify.py"), "--help"], capture_output=True, text=True)
    assert "(default: 8; config smoothing.size)" in " ".join(script.stdout.split())


@pytest.mark.slow
def test_native_noise_is_silenced_unless_verbose_and_quiet_prints_nothing(tmp_path):
    args = ("run", "--source", str(DEMO), "--no-display", "--dashboard", "off")
    plain = vidclf_cli(*args, cwd=tmp_path)
    assert plain.returncode == 0, plain.stderr[-2000:]
    assert XNNPACK_LINE not in plain.stderr and plain.stderr.strip() == "", plain.stderr[-2000:]
    verbose = vidclf_cli(*args, "-v", cwd=tmp_path)
    assert verbose.returncode == 0
    assert XNNPACK_LINE in verbose.stderr  # -v shows what the native libraries say
    assert "info: model " in verbose.stderr  # and our own log lines
    quiet = vidclf_cli(*args, "-q", cwd=tmp_path)
    assert quiet.returncode == 0 and quiet.stdout == "" and quiet.stderr == ""


def test_errors_stay_one_line_after_stderr_is_redirected(tmp_path):
    result = vidclf_cli("run", "--source", str(tmp_path / "missing.mp4"), "--no-display", cwd=tmp_path)
    assert_one_line_error(result, "missing.mp4")


def test_info_describes_the_model():
    result = vidclf_cli("info")
    assert result.returncode == 0, result.stderr
    assert "23 classes" in result.stdout and "224x224" in result.stdout and "no_sport" in result.stdout
    assert "own class thresholds: basketball 0.4" in result.stdout


# -- the Python API -------------------------------------------------------------------------


def _pipeline_threads() -> set[str]:
    return {t.name for t in threading.enumerate()} & {"grabber", "predictor", "vidclf-stream", "webhook", "serve"}


@pytest.mark.slow
def test_stream_yields_every_frame_in_order_like_the_cli(tmp_path):
    results = list(vidclf.stream(DEMO, settings={"output.results": str(tmp_path / "r.jsonl")}))
    assert [r.frame_index for r in results] == list(range(300))
    rows = read_jsonl(tmp_path / "r.jsonl")  # the same run wrote its results file: same labels
    assert [r.label for r in results] == [row["label"] for row in rows]
    first = results[0]
    assert first.image.shape[2] == 3 and 0.0 <= first.confidence <= 1.0 and first.top_k[0][0] in first.top_k[0]
    assert not _pipeline_threads()


def test_breaking_out_of_the_loop_stops_the_threads_and_releases_the_source():
    seen = []
    for result in vidclf.stream(DEMO):
        seen.append(result.frame_index)
        if len(seen) == 20:
            break
    assert seen == list(range(20))
    assert not _pipeline_threads(), threading.enumerate()


def test_run_calls_back_for_frames_and_label_changes():
    frames, events = [], []
    summary = vidclf.run(
        DEMO, settings={"smoothing.size": 4}, on_frame=lambda r: frames.append(r.frame_index), on_segment=events.append
    )
    assert frames == list(range(300)) and summary.frames_shown == 300
    starts = [e for e in events if e.kind == "start"]
    ends = [e for e in events if e.kind == "end"]
    assert [(e.label, e.first_frame) for e in starts] == [(s["label"], s["first_frame"]) for s in summary.segments]
    assert [(e.label, e.last_frame) for e in ends] == [(s["label"], s["last_frame"]) for s in summary.segments]


def test_api_errors_are_vidclf_errors(tmp_path):
    with pytest.raises(VidclfError, match="not found"):
        list(vidclf.stream(tmp_path / "missing.mp4"))
    with pytest.raises(VidclfError, match="smoothing.size"):
        vidclf.run(DEMO, settings={"smoothing.size": 0})
    assert not _pipeline_threads()


def test_the_bundled_model_is_the_default_in_the_api():
    assert os.path.samefile(vidclf.api._config(None, None, None, None).model.path, MODEL)


# -- one record per frame ---------------------------------------------------------------------------


def test_the_results_row_and_what_the_api_receives_are_one_record(shared, tmp_path):
    results, received = tmp_path / "r.jsonl", []
    clip = CLIPS / "fencing_short_bout.mp4"
    vidclf.run(str(clip), settings={"output.results": str(results)}, on_frame=lambda r: received.append(r.as_dict()))
    rows = read_jsonl(results)
    assert len(rows) == 28 and rows == received
    assert all(r["wall_time"].endswith("Z") and r["classified"] for r in rows)


@pytest.mark.slow
def test_a_finite_http_file_loses_no_result_to_a_slow_loop(shared):
    """Whether a source is live is decided once, by the pipeline: a file served over HTTP has
    an end, so a slow loop body holds it back instead of losing rows (the API used to guess
    "live" from the URL and dropped them)."""
    import time

    from servers import HttpFileServer

    with HttpFileServer(CLIPS) as server:
        frames = []
        for result in vidclf.stream(server.url("volleyball_indoor_practice.mp4")):
            frames.append(result.frame_index)
            time.sleep(0.03)  # slower than the pipeline: the result queue fills up
    assert frames == list(range(167))
