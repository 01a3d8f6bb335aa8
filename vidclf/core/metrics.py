"""Live pipeline measurements: event rates and latency percentiles over a sliding window.

Each meter is written by one thread and read by the dashboard; the reads are of a bounded
deque copied under the GIL, which is enough for display values.

Usage::

    fps = RateMeter(window_s=2.0); fps.tick()
    lat = LatencyMeter(); lat.add(12.5); lat.percentile(95)
"""

from __future__ import annotations

import collections
import threading
import time
from dataclasses import dataclass, field

import numpy as np

from vidclf.core.states import SourceState


class RateMeter:
    """Events per second over the last ``window_s`` seconds."""

    def __init__(self, window_s: float = 2.0, maxlen: int = 4096):
        self.window_s = window_s
        self.count = 0
        self._times: collections.deque[float] = collections.deque(maxlen=maxlen)

    def tick(self, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        self.count += 1
        self._times.append(now)
        # keep one window only: rate() runs on every rendered frame, so it must stay cheap
        while now - self._times[0] > self.window_s:
            self._times.popleft()

    def rate(self, now: float | None = None) -> float:
        now = time.monotonic() if now is None else now
        recent = [t for t in list(self._times) if now - t <= self.window_s]
        if len(recent) < 2:
            return 0.0
        span = max(recent[-1] - recent[0], 1e-6)
        return (len(recent) - 1) / span


class LatencyMeter:
    """Percentiles of the last ``maxlen`` samples (milliseconds)."""

    def __init__(self, maxlen: int = 512):
        self._samples: collections.deque[float] = collections.deque(maxlen=maxlen)

    def add(self, ms: float) -> None:
        self._samples.append(ms)

    def percentile(self, q: float) -> float:
        samples = list(self._samples)
        return float(np.percentile(samples, q)) if samples else 0.0


@dataclass
class PipelineStats:
    """Everything the dashboard and the final summary show, written by the pipeline threads."""

    source_fps: RateMeter = field(default_factory=RateMeter)
    inference_fps: RateMeter = field(default_factory=RateMeter)
    display_fps: RateMeter = field(default_factory=RateMeter)
    infer_ms: LatencyMeter = field(default_factory=LatencyMeter)
    latency_ms: LatencyMeter = field(default_factory=LatencyMeter)
    source_state: SourceState = SourceState.OPENING
    reconnects: int = 0
    frames_written: int = 0
    label: str = ""
    top_k: list[tuple[str, float]] = field(default_factory=list)
    started_at: float = field(default_factory=time.monotonic)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
