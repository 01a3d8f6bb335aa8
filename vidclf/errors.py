"""The one exception type that reaches the user as a single line.

Anything the user can fix (a missing file, a bad config value, an unreachable URL) is raised
as :class:`VidclfError` with a message that names the thing to fix; the command-line entry
points print ``error: <message>`` and exit with status 2 instead of a traceback.
"""


class VidclfError(Exception):
    """A user-facing error: the message alone must tell the user what to fix."""


class ReaderGone(Exception):
    """The reader of the run's results on standard output went away (``--results - | head``):
    the stream ends cleanly, as a pipeline's producer does, instead of running on for nobody."""


def require_tensorflow(what: str = "training") -> None:
    """Raise one clear :class:`VidclfError` when TensorFlow (the ``train`` extra) is missing:
    the runtime install (``pip install vidclf``) runs .tflite models without it."""
    import importlib.util

    if importlib.util.find_spec("tensorflow") is None or importlib.util.find_spec("keras") is None:
        raise VidclfError(f"{what} needs TensorFlow, which is not installed: pip install 'vidclf[train]'")
