"""vidclf — real-time video classification with a Keras/TFLite image classifier.

    import vidclf
    for p in vidclf.stream("clip.mp4"):
        print(p.frame_index, p.label, p.confidence)

See :mod:`vidclf.api`; the command line is ``vidclf`` (:mod:`vidclf.cli.main`).
"""

from __future__ import annotations

from typing import Any

__version__ = "0.2.0"
__all__ = ["__version__", "run", "stream"]


def __getattr__(name: str) -> Any:
    # The API pulls in OpenCV and the pipeline; `import vidclf` alone (e.g. for the version)
    # stays instant.
    if name in ("stream", "run"):
        from vidclf import api

        return getattr(api, name)
    raise AttributeError(f"module 'vidclf' has no attribute {name!r}")
