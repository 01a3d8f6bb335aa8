"""Which frames of a stream the model sees.

* ``classify_fps``: at most that many frames per second of the stream's own time (a file's
  timeline, a live frame's capture time). Due times keep their phase -- 10 of a 30 FPS stream
  is every third frame -- unless the stream fell behind by more than one interval; a timeline
  that goes back (``--loop``) starts the schedule again.
* ``phase``: where in the interval this stream's due times fall (0 ... 1). Several streams
  that one model serves are staggered (stream i of n: i / n), so that their due frames
  arrive one after another instead of all at once every interval: the model then runs small
  calls all the time rather than one call of n frames that every waiting frame has to sit out.
* live sources: of the frames waiting, only the newest is worth the model's time (a backlog of
  stale frames is never classified); the very first frames of a stream all are, since there is
  no label to carry yet.

* change gating (a :class:`~vidclf.streaming.change_gate.ChangeGate`, ``model.classify_on_change``):
  of the frames the rate allows, only those whose picture changed since the last classified
  frame (or that come ``max_interval_s`` after it).

One schedule per stream; the predictor asks it about each batch of frames it takes.

Usage::

    schedule = ClassifySchedule(classify_fps=10, live=False)
    due = schedule.choose(frames, have_label=False)    # [True, False, False, True, ...]
"""

from __future__ import annotations

from vidclf.core.messages import Frame
from vidclf.streaming.change_gate import ChangeGate

PHASE_TOLERANCE_S = 1e-3  # timestamps of a 30 FPS file are 0.0333...: rounding must not skip a due frame


def stream_time(frame: Frame) -> float:
    """A file's own timeline (it replays faster than real time), a live frame's capture time."""
    return frame.captured_at if frame.position_s is None else frame.position_s


class ClassifySchedule:
    def __init__(self, classify_fps: float | None = None, live: bool = False, phase: float = 0.0, gate: ChangeGate | None = None):
        if not 0.0 <= phase < 1.0:
            raise ValueError(f"phase must be in [0, 1), not {phase}")
        self.interval = 1.0 / classify_fps if classify_fps else 0.0
        self.live, self.phase, self.gate = live, phase, gate
        self._next_due: float | None = None  # stream time from which the next frame is due
        self._last_t: float | None = None

    def _due(self, t: float) -> bool:
        if self._next_due is not None and t < self._next_due - PHASE_TOLERANCE_S:
            return False
        if self.interval:
            if self._next_due is None:  # the first frame is due at once (there is no label yet)
                self._next_due = t + self.interval * (1.0 + self.phase)
            else:
                on_phase = t - self._next_due < self.interval
                self._next_due = (self._next_due if on_phase else t) + self.interval
        return True

    def choose(self, frames: list[Frame], have_label: bool) -> list[bool]:
        """For each of ``frames`` (in order): is it to be classified? ``have_label``: the
        stream already has a classified frame whose label the others can carry."""
        chosen = []
        for i, frame in enumerate(frames):
            t = stream_time(frame)
            if self._last_t is not None and t < self._last_t:  # the timeline restarted (--loop)
                self._next_due = None
            self._last_t = t
            candidate = not self.live or i == len(frames) - 1 or not have_label
            due = candidate and self._due(t)
            if due and self.gate is not None:
                # the first frame of a stream is always classified: there is no label to carry
                due = not (have_label or any(chosen)) or self.gate.wanted(frame.image, t)
                if due:
                    self.gate.remember(frame.image, t)
            chosen.append(due)
        return chosen

    def reset(self) -> None:
        """A new connection: the next frame is due at once."""
        self._next_due = self._last_t = None
        if self.gate is not None:
            self.gate.reset()
