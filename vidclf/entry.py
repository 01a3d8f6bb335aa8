"""Shared command-line plumbing: quiet TensorFlow logs, one-line errors, exit codes.

Usage (in a top-level script)::

    from vidclf.entry import run_main
    raise SystemExit(run_main(main))
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


def quiet_tensorflow() -> None:
    """Hide TensorFlow's C++ start-up chatter (CPU feature notices, oneDNN banners)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")


def run_main(main: Callable[[], int]) -> int:
    """Call ``main``; turn a :class:`VidclfError` into ``error: ...`` on stderr and exit code 2."""
    from vidclf.errors import VidclfError
    from vidclf.redact import redact

    try:
        return main()
    except VidclfError as exc:
        print(f"error: {redact(str(exc))}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
