"""Writing to a terminal or pipe that may go away while the run goes on.

``vidclf ... | head -1`` closes the pipe after one line (EPIPE); a closed terminal or a
dropped SSH session turns every write into EIO. Neither may stop a run from finalising its
recording and results, and neither may end in a traceback. Every console write of the
pipeline (summary, warnings, dashboard) goes through here: a failed write marks the stream
gone and points the file descriptor at ``/dev/null``, so later writes, including Python's
own flush at exit, are silently dropped.

Usage::

    write_text("ended by: q\\n")                 # stdout by default
    safe_print(console, "no window", style="yellow")
"""

from __future__ import annotations

import os
import sys
from typing import IO

from rich.console import Console
from rich.text import Text


def detach(stream: IO[str]) -> None:
    """Send whatever is still written to ``stream`` (buffered or later) to /dev/null."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, stream.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # not a real file (tests pass StringIO)
        pass


def write_text(text: str, stream: IO[str] | None = None) -> bool:
    """Write and flush ``text``; False (and the stream detached) when the reader is gone, or
    was never there (started with the descriptor closed: ``>&-`` makes ``sys.stdout`` None)."""
    stream = stream or sys.stdout
    if stream is None:
        return False
    try:
        stream.write(text)
        stream.flush()
        return True
    except (OSError, ValueError):  # BrokenPipeError (EPIPE), EIO from a closed terminal, a closed file object
        detach(stream)
        return False


def safe_print(console: Console, message: str, style: str | None = None) -> None:
    """Print ``message`` as plain text (no rich markup: paths and labels may contain
    ``[brackets]``), ignoring a console whose reader is gone."""
    try:
        console.print(Text(message, style=style or ""))
    except OSError:
        detach(console.file)
