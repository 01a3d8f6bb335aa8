"""The states and kinds that several layers compare, as enums (a typo is an AttributeError,
not a comparison that is silently never true). They are ``StrEnum``: each equals its text,
so results files, events and summaries read as before.

Usage::

    from vidclf.core.states import SourceState
    stats.source_state = SourceState.RECONNECTING
    stats.source_state == "reconnecting"   # True
"""

from __future__ import annotations

from enum import StrEnum


class SourceState(StrEnum):
    """Where a stream's source is (the dashboard, the overlay and the browser view show it)."""

    OPENING = "opening"
    WAITING = "waiting"  # down at start, waited for (source.give_up_after_s = 0)
    STREAMING = "streaming"
    RECONNECTING = "reconnecting"
    ENDED = "ended"
    FAILED = "failed"


class SourceKind(StrEnum):
    FILE = "file"
    WEBCAM = "webcam"
    STREAM = "stream"  # rtsp://, http(s)://


class EventKind(StrEnum):
    """A label segment starts or ends."""

    START = "start"
    END = "end"


class EndedBy(StrEnum):
    """Why a stream ended; a termination signal ends it by the signal's name (``"SIGTERM"``)."""

    END_OF_STREAM = "end of stream"
    KEY_Q = "q"
    ERROR = "error"
    READER_GONE = "reader gone"  # the reader of --results - went away
    STOPPED = "stopped"  # the caller's stop event, before the first frame
