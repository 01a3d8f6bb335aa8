"""Typed, validated configuration loaded from ``config.yaml``.

Every section of the YAML file maps onto one dataclass below. Loading checks each key: an
unknown key, a value of the wrong type or one outside its allowed range raises
:class:`~vidclf.errors.VidclfError` whose message names the key (``config.yaml:
smoothing.size must be >= 1, got 0``). Command-line flags are applied afterwards with
:func:`override`, through the same checks.

Usage::

    from vidclf.config import load_config, override
    cfg = load_config("config.yaml")
    cfg = override(cfg, {"smoothing.size": 32})
    cfg.smoothing.size  # 32
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from vidclf.errors import VidclfError

DEFAULT_CONFIG = Path(__file__).resolve().parent.parent / "config.yaml"


def _opt(default: Any, *, min: float | None = None, max: float | None = None, choices: tuple = ()) -> Any:
    """A dataclass field with validation limits kept in its metadata."""
    return field(default=default, metadata={"min": min, "max": max, "choices": choices})


@dataclass(frozen=True)
class ModelConfig:
    path: str = "models/sports22.tflite"
    labels: str | None = None
    threads: int = _opt(2, min=1, max=64)
    max_batch: int = _opt(8, min=1, max=256)


@dataclass(frozen=True)
class SourceConfig:
    source: str = "models/demo/basketball_gym_shooting.mp4"
    queue_size: int = _opt(4, min=1, max=1024)
    realtime: bool = False
    loop: bool = False
    open_timeout_s: float = _opt(10.0, min=0.1)
    read_timeout_s: float = _opt(5.0, min=0.1)
    reconnect_initial_s: float = _opt(0.5, min=0.0)
    reconnect_max_s: float = _opt(8.0, min=0.0)
    give_up_after_s: float = _opt(60.0, min=0.0)


@dataclass(frozen=True)
class SmoothingConfig:
    mode: str = _opt("mean", choices=("mean", "ema", "none"))
    size: int = _opt(16, min=1, max=10_000)
    ema_alpha: float = _opt(0.15, min=0.0, max=1.0)


@dataclass(frozen=True)
class DisplayConfig:
    window: str = _opt("auto", choices=("auto", "on", "off"))
    window_name: str = "vidclf"
    max_width: int = _opt(1280, min=160, max=10_000)
    top_k: int = _opt(3, min=1, max=20)


@dataclass(frozen=True)
class OutputConfig:
    video: str | None = None
    fps: float | None = _opt(None, min=0.1, max=1000.0)
    results: str | None = None


@dataclass(frozen=True)
class DashboardConfig:
    enabled: str = _opt("auto", choices=("auto", "on", "off"))
    refresh_hz: float = _opt(4.0, min=0.1, max=60.0)


@dataclass(frozen=True)
class TrainConfig:
    data_dir: str = "../shared/data/sports"
    classes: list[str] = field(default_factory=list)
    backbone: str = _opt("efficientnet_lite0", choices=("efficientnet_lite0", "mobilenet_v2", "efficientnet_b0", "resnet50"))
    backbone_weights: str | None = None
    output_dir: str = "runs/train"
    epochs: int = _opt(40, min=1, max=10_000)
    fine_tune_epochs: int = _opt(0, min=0, max=10_000)
    fine_tune_layers: int = _opt(20, min=1)
    batch_size: int = _opt(64, min=1, max=4096)
    learning_rate: float = _opt(1e-3, min=0.0)
    dropout: float = _opt(0.3, min=0.0, max=0.95)
    label_smoothing: float = _opt(0.1, min=0.0, max=0.5)
    val_fraction: float = _opt(0.15, min=0.0, max=0.5)
    test_fraction: float = _opt(0.15, min=0.01, max=0.5)
    max_images_per_class: int = _opt(0, min=0)
    seed: int = 42
    quantize: bool = True


@dataclass(frozen=True)
class Config:
    model: ModelConfig = field(default_factory=ModelConfig)
    source: SourceConfig = field(default_factory=SourceConfig)
    smoothing: SmoothingConfig = field(default_factory=SmoothingConfig)
    display: DisplayConfig = field(default_factory=DisplayConfig)
    output: OutputConfig = field(default_factory=OutputConfig)
    dashboard: DashboardConfig = field(default_factory=DashboardConfig)
    train: TrainConfig = field(default_factory=TrainConfig)


def _type_name(tp: Any) -> str:
    return {int: "an integer", float: "a number", str: "a string", bool: "true or false"}.get(tp, str(tp))


def _check_value(key: str, value: Any, tp: Any, meta: typing.Mapping[str, Any]) -> Any:
    """Coerce ``value`` to the annotated type ``tp`` or raise a one-line error naming ``key``."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if value is None:
            return None
        tp = args[0]
        origin = typing.get_origin(tp)
    if origin is list:
        (item_tp,) = typing.get_args(tp)
        if value is None:
            return []
        if isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
        if not isinstance(value, list):
            raise VidclfError(f"{key} must be a list, got {value!r}")
        return [_check_value(f"{key}[{i}]", v, item_tp, {}) for i, v in enumerate(value)]
    if tp is bool:
        if not isinstance(value, bool):
            raise VidclfError(f"{key} must be true or false, got {value!r}")
    elif tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise VidclfError(f"{key} must be an integer, got {value!r}")
    elif tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise VidclfError(f"{key} must be a number, got {value!r}")
        value = float(value)
    elif tp is str:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value = str(value)  # e.g. a webcam index written as 0
        if not isinstance(value, str):
            raise VidclfError(f"{key} must be {_type_name(tp)}, got {value!r}")
    if meta.get("choices") and value not in meta["choices"]:
        raise VidclfError(f"{key} must be one of {', '.join(map(str, meta['choices']))}; got {value!r}")
    if meta.get("min") is not None and value < meta["min"]:
        raise VidclfError(f"{key} must be >= {meta['min']}, got {value!r}")
    if meta.get("max") is not None and value > meta["max"]:
        raise VidclfError(f"{key} must be <= {meta['max']}, got {value!r}")
    return value


def _build(cls: type, data: Any, prefix: str) -> Any:
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise VidclfError(f"{prefix.rstrip('.') or 'config'} must be a mapping, got {data!r}")
    hints = typing.get_type_hints(cls)
    known = {f.name: f for f in dataclasses.fields(cls)}
    for key in data:
        if key not in known:
            raise VidclfError(f"unknown key {prefix}{key} (known: {', '.join(known)})")
    values = {}
    for name, f in known.items():
        if name not in data:
            continue
        tp = hints[name]
        if dataclasses.is_dataclass(tp):
            values[name] = _build(tp, data[name], f"{prefix}{name}.")
        else:
            values[name] = _check_value(f"{prefix}{name}", data[name], tp, f.metadata)
    return cls(**values)


def from_dict(data: dict[str, Any]) -> Config:
    """Build a validated :class:`Config` from nested dicts (as parsed from YAML)."""
    return _build(Config, data, "")


def load_config(path: str | Path | None = None) -> Config:
    """Load ``config.yaml`` (or the given file) into a validated :class:`Config`.

    Errors carry the file name so the user knows where to look.
    """
    path = Path(path) if path else DEFAULT_CONFIG
    if not path.is_file():
        raise VidclfError(f"config file not found: {path}")
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise VidclfError(f"{path}{where}: invalid YAML ({getattr(exc, 'problem', exc)})") from None
    try:
        return from_dict(data)
    except VidclfError as exc:
        raise VidclfError(f"{path.name}: {exc}") from None


def override(cfg: Config, values: dict[str, Any]) -> Config:
    """Return ``cfg`` with dotted keys replaced (``{"smoothing.size": 8}``); ``None`` values are skipped."""
    data = dataclasses.asdict(cfg)
    for dotted, value in values.items():
        if value is None:
            continue
        section, _, key = dotted.partition(".")
        data[section][key] = value
    try:
        return from_dict(data)
    except VidclfError as exc:
        raise VidclfError(f"command line: {exc}") from None
