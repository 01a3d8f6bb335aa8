"""``--timeline run.png``: a picture of the run's shown label and confidence over time,
drawn when the run ends (matplotlib, see :mod:`vidclf.plots`).

Usage::

    sink = TimelineSink("run.png", threshold=0.7, title="match.mp4")
    ...                     # the renderer calls sink.on_frame(result)
    sink.close()            # writes run.png
"""

from __future__ import annotations

from array import array
from pathlib import Path

from vidclf import plots
from vidclf.core.records import FrameResult
from vidclf.errors import VidclfError
from vidclf.sinks.events import Sink


def check_timeline_path(path: str | Path) -> Path:
    """The picture's name must say PNG, and matplotlib must be there (checked before the run)."""
    path = Path(path)
    if path.suffix.lower() != ".png":
        raise VidclfError(f"timeline picture must end in .png, got {path.name}")
    if not plots.available():
        raise VidclfError("--timeline needs matplotlib: pip install matplotlib (or 'vidclf[train]')")
    return path


class TimelineSink(Sink):
    output_name = "timeline picture"

    def __init__(self, path: str | Path, threshold: float | None = None, title: str = "", class_names: list[str] | None = None):
        self.path = check_timeline_path(path)
        self.threshold, self.title, self.class_names = threshold, title, class_names or []
        # compact per-frame columns: a day of 30 FPS video is ~2.6 M frames
        self._times = array("d")
        self._confidence = array("f")
        self._label_ids = array("H")
        self._labels: dict[str, int] = {}

    def on_frame(self, result: FrameResult) -> None:
        self._times.append(result.time_s if result.position_s is None else result.position_s)
        self._confidence.append(result.confidence)
        self._label_ids.append(self._labels.setdefault(result.label, len(self._labels)))

    def close(self) -> None:
        if not self._times:
            return
        names = {i: label for label, i in self._labels.items()}
        labels = [names[i] for i in self._label_ids]
        times = list(self._times)
        confidence = (times, list(self._confidence))
        plots.label_timeline([("shown", times, labels)], self.path, confidence, self.threshold, self.title, self.class_names)
