"""Unit tests of the small pieces: queue policies, smoothing, backoff, segments."""

import json
import queue
import random
import threading

import numpy as np
import pytest
from conftest import ROOT

from vidclf.core.frame_queue import FrameQueue
from vidclf.core.messages import END_OF_STREAM, StreamReset
from vidclf.core.records import SegmentTracker
from vidclf.errors import VidclfError
from vidclf.streaming.smoothing import ExponentialAverage, RollingMean, make_smoother
from vidclf.streaming.source import backoff_delays, parse_source


def test_drop_oldest_queue_keeps_newest_and_counts_drops():
    q = FrameQueue(3, drop_oldest=True)
    for i in range(10):
        assert q.put(i)
    assert q.dropped == 7
    assert [q.get(0) for _ in range(3)] == [7, 8, 9]
    with pytest.raises(queue.Empty):
        q.get(timeout=0.01)


def test_a_burst_of_frames_after_a_reconnect_never_pushes_out_the_reset():
    """A live queue full of the frames that arrive in a burst behind a StreamReset (an RTSP
    server that comes back sends its buffer at once) drops frames, not the reset: lost, the
    new scene would be averaged with the old one (seen in test_rtsp's reconnect test)."""
    q = FrameQueue(3, drop_oldest=True)
    q.put(0)
    reset = StreamReset(1, "reconnected")
    assert q.put(reset, force=True)
    for i in range(1, 10):
        assert q.put(i)
    assert q.dropped == 7 and len(q) == 4  # 3 frames + the reset
    assert [q.get(0) for _ in range(4)] == [reset, 7, 8, 9]
    q.put(10)
    q.put(END_OF_STREAM, force=True)
    for i in range(11, 14):
        q.put(i)
    assert [q.get(0) for _ in range(4)] == [END_OF_STREAM, 11, 12, 13]


def test_blocking_queue_loses_nothing_and_honours_stop():
    q = FrameQueue(2, drop_oldest=False)
    got = []

    def consume():
        while (item := q.get(timeout=5)) is not END_OF_STREAM:
            got.append(item)

    t = threading.Thread(target=consume)
    t.start()
    for i in range(200):
        assert q.put(i)
    q.put(END_OF_STREAM, force=True)
    t.join(5)
    assert got == list(range(200)) and q.dropped == 0

    stop = threading.Event()
    full = FrameQueue(1, drop_oldest=False)
    full.put("a")
    stop.set()
    assert full.put("b", stop) is False  # returns instead of blocking forever


def test_control_messages_never_evict_frames():
    q = FrameQueue(2, drop_oldest=False)
    q.put(1)
    q.put(2)
    q.put(END_OF_STREAM, force=True)
    assert [q.get(0), q.get(0), q.get(0)] == [1, 2, END_OF_STREAM]
    assert q.dropped == 0


def test_rolling_mean_is_the_mean_of_the_last_k():
    rng = np.random.default_rng(1)
    history = rng.dirichlet(np.ones(4), size=20)
    smoother = RollingMean(5)
    for i, p in enumerate(history):
        out = smoother.update(p)
        np.testing.assert_allclose(out, history[max(0, i - 4) : i + 1].mean(0), rtol=1e-6)
    smoother.reset()
    np.testing.assert_allclose(smoother.update(history[0]), history[0], rtol=1e-6)


def test_ema_follows_its_recurrence_and_resets():
    ema = ExponentialAverage(0.25)
    a, b = np.array([1.0, 0.0]), np.array([0.0, 1.0])
    np.testing.assert_allclose(ema.update(a), a)
    np.testing.assert_allclose(ema.update(b), [0.75, 0.25])
    ema.reset()
    np.testing.assert_allclose(ema.update(b), b)
    assert isinstance(make_smoother("none"), object) and np.allclose(make_smoother("none").update(a), a)


def test_backoff_grows_exponentially_with_jitter_and_caps():
    delays = backoff_delays(0.5, 4.0, random.Random(3))
    got = [next(delays) for _ in range(8)]
    nominal = [0.5, 1, 2, 4, 4, 4, 4, 4]
    for d, n in zip(got, nominal, strict=True):
        assert 0.5 * n <= d <= n
    assert len(set(got)) == len(got)  # jittered, not lock-step


def test_parse_source_kinds(tmp_path):
    clip = tmp_path / "a.mp4"
    clip.write_bytes(b"x")
    assert parse_source("0").kind == "webcam"
    assert parse_source("rtsp://127.0.0.1:1/x").kind == "stream"
    assert parse_source(str(clip)).kind == "file"
    with pytest.raises(VidclfError, match="video file not found"):
        parse_source(str(tmp_path / "missing.mp4"))


def test_segments_collapse_runs():
    tracker = SegmentTracker()
    for i, label in enumerate("aaabbbba"):
        tracker.add(i, i / 10, label)
    assert [(s["label"], s["first_frame"], s["last_frame"]) for s in tracker.as_dicts()] == [
        ("a", 0, 2),
        ("b", 3, 6),
        ("a", 7, 7),
    ]


def test_segments_and_their_events_carry_an_id_and_wall_times():
    from vidclf.core.records import SegmentEvent
    from vidclf.core.states import EventKind

    tracker = SegmentTracker("court_1")
    wall = 1796615336.0  # 2026-12-07T03:48:56Z
    for i, label in enumerate("aab"):
        ended, started = tracker.add(i, i * 0.0625, label, wall + i * 0.125)  # binary fractions: exact
    first, second = tracker.as_dicts()
    assert (first["id"], second["id"]) == ("court_1-1", "court_1-2")
    assert first["start_wall_time"] == "2026-12-07T03:48:56.000Z" and first["end_wall_time"] == "2026-12-07T03:48:56.125Z"
    assert first["end_s"] == 0.062  # times rounded to the millisecond
    end = SegmentEvent(EventKind.END, "court#1", ended).as_dict()
    start = SegmentEvent(EventKind.START, "court#1", started, 0.91234).as_dict()
    assert end["type"] == "segment_end" and end["id"] == "court_1-1" and end["frames"] == 2
    assert end["end_wall_time"] == "2026-12-07T03:48:56.125Z"
    assert start == {
        "type": "segment_start",
        "source": "court#1",
        "id": "court_1-2",
        "label": "b",
        "start_s": 0.125,
        "first_frame": 2,
        "start_wall_time": "2026-12-07T03:48:56.250Z",
        "confidence": 0.9123,
    }


def test_a_timeline_that_goes_back_starts_a_segment():
    """A looped file: its positions restart at 0. The same label across the loop point is two
    segments, each a stretch of the file (one segment from 1.8 s to 0.5 s would mean nothing)."""
    tracker = SegmentTracker()
    for i, t in enumerate([0.0, 1.0, 1.8, 0.0, 0.5]):
        tracker.add(i, t, "a")
    assert [(s["first_frame"], s["last_frame"], s["start_s"], s["end_s"]) for s in tracker.as_dicts()] == [
        (0, 2, 0.0, 1.8),
        (3, 4, 0.0, 0.5),
    ]


def test_rate_meter_measures_the_recent_window():
    from vidclf.core.metrics import LatencyMeter, RateMeter

    meter = RateMeter(window_s=2.0)
    for i in range(2000):  # 10 s at 200 Hz
        meter.tick(1000 + i / 200)
    assert meter.rate(1000 + 1999 / 200) == pytest.approx(200, rel=1e-6)
    assert meter.count == 2000
    assert meter.rate(1000 + 1999 / 200 + 3.0) == 0.0  # a stalled source reads as 0, not as its past rate
    latency = LatencyMeter()
    for ms in range(1, 101):
        latency.add(float(ms))
    assert latency.percentile(50) == pytest.approx(50.5) and latency.percentile(95) == pytest.approx(95.05)


def test_the_versions_ci_installs_are_inside_the_package_ranges():
    """requirements*.txt pin what CI tests; pyproject.toml's ranges must admit exactly those, so
    that `pip install .` cannot resolve a major version CI never ran (OpenCV 5 did once)."""
    tomllib = pytest.importorskip("tomllib")
    from packaging.requirements import Requirement

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = [Requirement(r) for r in project["dependencies"]]
    declared += [Requirement(r) for extra in project["optional-dependencies"].values() for r in extra]
    ranges = {}
    for req in declared:
        if req.marker is None or req.marker.evaluate():
            ranges[req.name.lower()] = req.specifier
    pins = {}
    for name in ("requirements.txt", "requirements-dev.txt"):
        for line in (ROOT / name).read_text().splitlines():
            line = line.split("#")[0].strip()
            if "==" in line:
                req = Requirement(line)
                pins[req.name.lower()] = next(iter(req.specifier)).version
    checked = {name: version for name, version in pins.items() if name in ranges}
    assert len(checked) >= 8, checked
    outside = {name: (version, str(ranges[name])) for name, version in checked.items() if version not in ranges[name]}
    assert not outside, outside
    assert all(any(s.operator == "<" for s in ranges[name]) for name in checked), ranges


def test_the_runtime_runs_a_tflite_model_without_tensorflow_or_training_code():
    """The runtime layer is TensorFlow-free and imports nothing of training: with both made
    unimportable, a .tflite model loads (labels, calibration, its own thresholds) and classifies."""
    import subprocess
    import sys

    script = f"""
import importlib.abc, sys
class Refuse(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("tensorflow", "keras") or name.startswith("vidclf.training"):
            raise ImportError("refused: " + name)
sys.meta_path.insert(0, Refuse())
import numpy as np
from vidclf.runtime.classifier import load_classifier
clf = load_classifier({str(ROOT / "models" / "sports22.tflite")!r})
probs = clf.predict(np.zeros((2, clf.input_size, clf.input_size, 3), np.uint8))
assert probs.shape == (2, len(clf.labels)), probs.shape
assert clf.temperature != 1.0 and clf.class_thresholds, (clf.temperature, clf.class_thresholds)
print("ok", sorted(m for m in sys.modules if m.startswith(("tensorflow", "keras", "vidclf.training"))))
"""
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "ok []", result.stdout


def _cielab(colour: str) -> np.ndarray:
    """sRGB #RRGGBB -> CIELAB (D65), to measure how far apart two colours look."""
    srgb = np.array([int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)])
    linear = np.where(srgb > 0.04045, ((srgb + 0.055) / 1.055) ** 2.4, srgb / 12.92)
    xyz = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]) @ linear
    f = np.cbrt(np.maximum(xyz / [0.95047, 1.0, 1.08883], (6 / 29) ** 3))
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def test_every_class_of_the_shipped_model_has_its_own_clearly_different_colour():
    import itertools

    from vidclf import plots
    from vidclf.core.palette import UNCERTAIN_COLOUR, label_colour, rgb

    labels = json.loads((ROOT / "models" / "sports22.labels.json").read_text())
    colours = [label_colour(label, labels) for label in labels]
    assert len(set(colours)) == len(labels)
    closest = min(np.linalg.norm(_cielab(a) - _cielab(b)) for a, b in itertools.combinations(colours, 2))
    assert closest >= 15  # Delta E 76: the hashed hues had 14 pairs within 8 degrees of hue
    assert min(np.linalg.norm(_cielab(c) - _cielab(UNCERTAIN_COLOUR)) for c in colours) >= 25
    # one palette: the pictures' colour is the page's colour
    assert plots.label_colour("tennis", labels) == rgb(label_colour("tennis", labels))
    assert label_colour("uncertain", labels) == UNCERTAIN_COLOUR
    assert label_colour("not_a_class", labels) == label_colour("not_a_class")  # stable fallback


def test_the_overlay_captions_its_bars_as_the_smoothed_top_k():
    """The overlay's bars are the smoothed prediction and the page's panel the raw one: the
    picture says which it is, below the bars."""
    import time

    from vidclf.core.messages import Frame, Prediction
    from vidclf.sinks.overlay import draw_overlay

    black = np.zeros((360, 640, 3), np.uint8)
    smoothed = np.array([0.2, 0.7, 0.1])
    prediction = Prediction(Frame(0, black, time.monotonic()), np.array([0.1, 0.8, 0.1]), smoothed, "tennis", 0.7, 5.0, 0.0)
    image = draw_overlay(prediction, ["basketball", "tennis", "volleyball"], k=3)
    scale = 640 / 900
    line = int(28 * scale) + 6
    below_bars = image[line * 4 + 4 : line * 4 + int(24 * scale) + 2, :200]
    assert (below_bars.max(axis=2) > 120).sum() > 40  # the caption's letters
    # and the bars are the smoothed probabilities: the top bar is 0.7 of the bar's full length
    bar_row = image[line * 2 - 5, :, 1]
    green = np.flatnonzero(bar_row == 180)
    full = min(640, int(360 * scale) + 20) - int(170 * scale) - 16
    assert len(green) > 0 and green[-1] - green[0] + 1 == pytest.approx(int(full * 0.7), abs=2)
