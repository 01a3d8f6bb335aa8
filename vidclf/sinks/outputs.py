"""The one place that decides whether a run may write its output files.

Checked before anything starts, for every output (recording, results, the results'
``.summary.json``):

* it is never the same file as an input (the source video, the model, the labels, the
  config) or as another output — also through a symbolic or a hard link;
* an existing file is kept unless the user asked for ``--overwrite`` (``output.overwrite``):
  a run must not silently destroy an earlier result;
* it is a regular file or does not exist yet (a FIFO would block the run forever, a device
  such as ``/dev/full`` swallows or refuses the data);
* its folder exists and really accepts a new file (read-only mounts, ``/proc``, ``/sys``).

Usage::

    check_outputs({"recording": "out.avi", "results": "r.jsonl"},
                  {"source video": "clip.mp4", "model": "m.tflite"}, overwrite=False)
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from pathlib import Path

from vidclf.errors import VidclfError

STDOUT = "-"  # an output named "-" is standard output: not a file, nothing to check


def summary_path(results: str | Path) -> Path:
    """``r.jsonl`` -> ``r.jsonl.summary.json`` (written when the run ends)."""
    results = Path(results)
    return results.with_name(results.name + ".summary.json")


def _identity(path: Path) -> tuple:
    """What makes two names the same file: (device, inode) once it exists (hard and
    symbolic links included), else its fully resolved path."""
    try:
        st = os.stat(path)
        return ("inode", st.st_dev, st.st_ino)
    except OSError:
        return ("path", os.path.realpath(path))


def check_writable(path: str | Path, what: str = "output") -> Path:
    """Raise :class:`VidclfError` unless a regular file can be created at ``path``."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise VidclfError(f"{what} path is a folder: {path}")
    if path.exists() and not stat.S_ISREG(os.stat(path).st_mode):
        raise VidclfError(f"{what} path {path} is not a regular file (a FIFO, socket or device); give a file name")
    if not folder.is_dir():
        raise VidclfError(f"cannot write {what} {path}: folder {folder} does not exist")
    if not os.access(folder, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise VidclfError(f"cannot write {what} {path}: permission denied")
    existed = path.exists()
    try:  # permissions are not the whole story (read-only mounts, /proc, /sys): really try
        with path.open("ab"):
            pass
    except OSError as exc:
        raise VidclfError(f"cannot write {what} {path}: {exc.strerror}") from None
    if not existed:
        path.unlink()
    return path


def check_outputs(outputs: Mapping[str, str | Path | None], inputs: Mapping[str, str | Path | None], overwrite: bool) -> None:
    """Validate every output path against the inputs, each other, and what already exists.

    ``outputs`` / ``inputs`` map a name shown to the user ("recording", "source video") to a
    path; ``None`` entries and ``"-"`` outputs (standard output, allowed explicitly: it is
    no regular file) are skipped. Raises :class:`VidclfError` naming both files.
    """
    outputs = {name: path for name, path in outputs.items() if path is not None and str(path) != STDOUT}
    taken: dict[tuple, str] = {}
    for name, path in inputs.items():
        if path is not None and Path(path).exists():
            taken.setdefault(_identity(Path(path)), f"the {name} {path}")
    for name, path in outputs.items():
        if path is None:
            continue
        path = Path(path)
        ident = _identity(path)
        if ident in taken:
            raise VidclfError(f"{name} path {path} is the same file as {taken[ident]}; choose another output path")
        taken[ident] = f"the {name} {path}"
    for name, path in outputs.items():
        if path is None:
            continue
        path = Path(path)
        if path.is_file() and not overwrite:
            raise VidclfError(f"{name} file {path} already exists; pass --overwrite (output.overwrite: true) to replace it")
        check_writable(path, name)
