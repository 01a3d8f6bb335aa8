"""Loading a saved ``.keras`` model: the custom layers this project's models contain (they
live with the runtime; training builds models with them) and the one loader that reports a
bad file in one line. Importing this module imports Keras: only the ``.keras`` classifier,
export and training do.

Usage::

    model = load_keras_model("models/sports22.keras")
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import keras
from keras import layers

from vidclf.errors import VidclfError


@keras.saving.register_keras_serializable(package="vidclf")
class ReverseChannels(layers.Layer):
    """RGB <-> BGR, for backbones trained on BGR input (ResNet50's caffe weights)."""

    def call(self, x):
        return keras.ops.flip(x, axis=-1)


def load_keras_model(path: str | Path, what: str = "Keras model") -> keras.Model:
    """The model saved at ``path`` (uncompiled), or one :class:`VidclfError` line saying why not
    (``what`` names the file there: "train.init_model")."""
    # Keras says "File not found" for a file that exists but is no .keras archive: say what it is
    if Path(path).suffix.lower() == ".keras" and not zipfile.is_zipfile(path):
        raise VidclfError(f"cannot load {what} {path}: it is not a Keras model (a .keras file is a zip archive)")
    try:
        return keras.saving.load_model(path, compile=False)
    except Exception as exc:  # noqa: BLE001  keras raises many types for a bad file; the message is enough
        first_line = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        raise VidclfError(f"cannot load {what} {path}: {first_line}") from None
