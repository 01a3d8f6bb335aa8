"""Bring weights trained by ``finetune.py`` back into a Keras model of this project.

Loads ``--like`` (the model that was packed: same backbone, classes and head) and replaces
its weights with the state dict ``NAME.npz``; writes ``OUT.keras`` and its labels file. Then
``train.py --init-model OUT.keras --fine-tune-epochs 0 ...`` exports, tests and calibrates it
like any trained model (the same split, so the same test photos).

Usage::

    python3 tools/gpu_train/unpack.py out/a.npz runs/gpu_a/sports22.keras --like models/sports22.keras
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from vidclf.errors import VidclfError  # noqa: E402
from vidclf.runtime.classifier import default_labels_path  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("weights", type=Path, help="NAME.npz written by finetune.py")
    parser.add_argument("out", type=Path, help="the .keras file to write")
    parser.add_argument("--like", type=Path, required=True, help="the .keras model that was packed")
    args = parser.parse_args(argv)
    from vidclf.runtime.keras_layers import load_keras_model
    from vidclf.training.backbones import load_model_state_dict

    try:
        if not args.weights.is_file():
            raise VidclfError(f"weights not found: {args.weights}")
        try:
            state = dict(np.load(args.weights))
        except (OSError, ValueError) as exc:
            raise VidclfError(f"cannot read {args.weights}: {str(exc).splitlines()[0]}") from None
        model = load_keras_model(args.like, "--like")
        load_model_state_dict(model, state)
    except VidclfError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    args.out.parent.mkdir(parents=True, exist_ok=True)
    model.save(args.out)
    shutil.copyfile(default_labels_path(args.like), default_labels_path(args.out))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
