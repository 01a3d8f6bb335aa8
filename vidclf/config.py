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
import math
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from vidclf.assets import DEFAULT_CONFIG, installed
from vidclf.errors import VidclfError

# vidclf.training.backbones.BACKBONES (not imported here: it needs TensorFlow)
BACKBONE_NAMES = ("efficientnet_lite0", "efficientnet_lite1", "efficientnet_lite2", "mobilenet_v2", "efficientnet_b0", "resnet50")

# A config file is a few kB. These bounds keep a hostile or broken file from eating memory
# (YAML aliases can expand exponentially: a few hundred bytes -> gigabytes) or the screen.
MAX_CONFIG_BYTES = 1 << 20
MAX_CONFIG_VALUES = 10_000
MAX_SHOWN_CHARS = 60


def _opt(default: Any, *, min: float | None = None, max: float | None = None, choices: tuple = ()) -> Any:
    """A dataclass field with validation limits kept in its metadata."""
    return field(default=default, metadata={"min": min, "max": max, "choices": choices})


@dataclass(frozen=True)
class ModelConfig:
    path: str = "models/sports22.tflite"
    labels: str | None = None
    threads: int = _opt(2, min=1, max=64)
    inference_workers: int = _opt(0, min=0, max=64)
    max_batch: int = _opt(8, min=1, max=256)
    classify_fps: float | None = _opt(None, min=0.1, max=1000.0)
    input_fit: str = _opt("crop", choices=("squash", "crop"))


@dataclass(frozen=True)
class SourceConfig:
    source: str = "models/demo/basketball_gym_shooting.mp4"
    queue_size: int = _opt(8, min=1, max=1024)
    realtime: bool = False
    loop: bool = False
    open_timeout_s: float = _opt(10.0, min=0.1, max=3600.0)
    read_timeout_s: float = _opt(5.0, min=0.1, max=3600.0)
    reconnect_initial_s: float = _opt(0.5, min=0.0, max=3600.0)
    reconnect_max_s: float = _opt(8.0, min=0.0, max=3600.0)
    give_up_after_s: float = _opt(60.0, min=0.0, max=1e7)
    decode_threads: int = _opt(0, min=0, max=64)  # 0 = auto: 1; FFmpeg's own count for one file past 1080p


@dataclass(frozen=True)
class SmoothingConfig:
    mode: str = _opt("mean", choices=("mean", "ema", "none"))
    size: int = _opt(8, min=1, max=10_000)
    window_s: float | None = _opt(None, min=0.01, max=600.0)
    ema_alpha: float = _opt(0.15, min=0.001, max=1.0)  # 0 would never move off the first frame
    uncertain_below: float = _opt(0.7, min=0.0, max=1.0)
    class_thresholds: dict[str, float] = field(default_factory=dict, metadata={"min": 0.0, "max": 1.0})
    hysteresis_s: float = _opt(1.0, min=0.0, max=60.0)
    min_segment_s: float = _opt(1.0, min=0.0, max=600.0)
    background_labels: list[str] = field(default_factory=lambda: ["no_sport"])
    scene_cut: bool = True
    scene_cut_threshold: float = _opt(0.4, min=0.01, max=1.0)


@dataclass(frozen=True)
class DisplayConfig:
    window: str = _opt("auto", choices=("auto", "on", "off"))
    window_name: str = "vidclf"
    max_width: int = _opt(1280, min=160, max=10_000)
    top_k: int = _opt(3, min=1, max=1000)


@dataclass(frozen=True)
class OutputConfig:
    video: str | None = None
    fps: float | None = _opt(None, min=0.1, max=1000.0)
    results: str | None = None
    srt: str | None = None
    timeline: str | None = None
    overwrite: bool = False


@dataclass(frozen=True)
class EventsConfig:
    name: str | None = None
    webhook: str | None = None
    webhook_timeout_s: float = _opt(2.0, min=0.1, max=60.0)
    webhook_retries: int = _opt(3, min=0, max=100)
    mqtt: str | None = None
    mqtt_topic: str = "vidclf"


@dataclass(frozen=True)
class ServeConfig:
    address: str | None = None
    token: str | None = None
    max_fps: float = _opt(15.0, min=0.1, max=120.0)
    jpeg_quality: int = _opt(80, min=10, max=100)


@dataclass(frozen=True)
class DashboardConfig:
    enabled: str = _opt("auto", choices=("auto", "on", "off"))
    progress: str = _opt("auto", choices=("auto", "on", "off"))
    refresh_hz: float = _opt(4.0, min=0.1, max=60.0)


@dataclass(frozen=True)
class TrainConfig:
    data_dir: str = "../shared/data/sports"
    classes: list[str] = field(default_factory=list)
    backbone: str = _opt("efficientnet_lite0", choices=BACKBONE_NAMES)
    backbone_weights: str | None = None
    output_dir: str = "runs/train"
    epochs: int = _opt(40, min=1, max=10_000)
    fine_tune_epochs: int = _opt(0, min=0, max=10_000)
    fine_tune_layers: int = _opt(20, min=1, max=10_000)
    batch_size: int = _opt(64, min=1, max=4096)
    learning_rate: float = _opt(1e-3, min=0.0, max=10.0)
    dropout: float = _opt(0.3, min=0.0, max=0.95)
    label_smoothing: float = _opt(0.1, min=0.0, max=0.5)
    val_fraction: float = _opt(0.15, min=0.0, max=0.5)
    test_fraction: float = _opt(0.15, min=0.01, max=0.5)
    max_images_per_class: int = _opt(0, min=0, max=10_000_000)
    seed: int = _opt(42, min=0, max=2**32 - 1)
    quantize: bool = True
    extra_data_dirs: list[str] = field(default_factory=list)
    video_dir: str | None = None
    video_frame_step: int = _opt(5, min=1, max=10_000)
    augment: str = _opt("flip", choices=("flip", "video"))
    input_fit: str = _opt("crop", choices=("squash", "crop"))
    init_model: str | None = None
    average_models: list[str] = field(default_factory=list)
    background_class: str | None = None
    input_size: int = _opt(0, min=0, max=2048)
    export_size: int = _opt(0, min=0, max=2048)
    distill_from: list[str] = field(default_factory=list)
    distill_weight: float = _opt(0.5, min=0.0, max=1.0)


@dataclass(frozen=True)
class EvaluateConfig:
    clips: str = "../shared/data/clips"
    output_dir: str = "runs/evaluate"


@dataclass(frozen=True)
class StreamConfig:
    """One of several sources classified by one process (``sources:``)."""

    source: str = ""
    name: str | None = None
    classify_fps: float | None = _opt(None, min=0.1, max=1000.0)
    video: str | None = None
    results: str | None = None


@dataclass(frozen=True)
class Config:
    model: ModelConfig = field(default_factory=ModelConfig)
    source: SourceConfig = field(default_factory=SourceConfig)
    smoothing: SmoothingConfig = field(default_factory=SmoothingConfig)
    display: DisplayConfig = field(default_factory=DisplayConfig)
    output: OutputConfig = field(default_factory=OutputConfig)
    events: EventsConfig = field(default_factory=EventsConfig)
    serve: ServeConfig = field(default_factory=ServeConfig)
    dashboard: DashboardConfig = field(default_factory=DashboardConfig)
    sources: list[StreamConfig] = field(default_factory=list)
    train: TrainConfig = field(default_factory=TrainConfig)
    evaluate: EvaluateConfig = field(default_factory=EvaluateConfig)


def shown(value: Any) -> str:
    """``repr(value)`` cut to a length that fits an error line (values can be huge)."""
    text = repr(value)
    return text if len(text) <= MAX_SHOWN_CHARS else text[: MAX_SHOWN_CHARS - 3] + "..."


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
    if origin is dict:
        _key_tp, value_tp = typing.get_args(tp)
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise VidclfError(f"{key} must be a mapping, got {shown(value)}")
        return {str(k): _check_value(f"{key}.{k}", v, value_tp, meta) for k, v in value.items()}
    if origin is list:
        (item_tp,) = typing.get_args(tp)
        if value is None:
            return []
        if isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
        if not isinstance(value, list):
            raise VidclfError(f"{key} must be a list, got {shown(value)}")
        if dataclasses.is_dataclass(item_tp):
            return [_build(item_tp, v, f"{key}[{i}].") for i, v in enumerate(value)]
        return [_check_value(f"{key}[{i}]", v, item_tp, {}) for i, v in enumerate(value)]
    if tp is bool:
        if not isinstance(value, bool):
            raise VidclfError(f"{key} must be true or false, got {shown(value)}")
    elif tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise VidclfError(f"{key} must be an integer, got {shown(value)}")
    elif tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise VidclfError(f"{key} must be a number, got {shown(value)}")
        value = float(value)
        if not math.isfinite(value):  # nan passes every < / > check; inf overflows timeouts
            raise VidclfError(f"{key} must be a finite number, got {shown(value)}")
    elif tp is str:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value = str(value)  # e.g. a webcam index written as 0
        if not isinstance(value, str):
            raise VidclfError(f"{key} must be {_type_name(tp)}, got {shown(value)}")
    if meta.get("choices") and value not in meta["choices"]:
        raise VidclfError(f"{key} must be one of {', '.join(map(str, meta['choices']))}; got {shown(value)}")
    if meta.get("min") is not None and value < meta["min"]:
        raise VidclfError(f"{key} must be >= {meta['min']}, got {shown(value)}")
    if meta.get("max") is not None and value > meta["max"]:
        raise VidclfError(f"{key} must be <= {meta['max']}, got {shown(value)}")
    return value


def _build(cls: type, data: Any, prefix: str) -> Any:
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise VidclfError(f"{prefix.rstrip('.') or 'config'} must be a mapping, got {shown(data)}")
    hints = typing.get_type_hints(cls)
    known = {f.name: f for f in dataclasses.fields(cls)}
    for key in data:
        if key not in known:
            raise VidclfError(f"unknown key {prefix}{str(key)[:MAX_SHOWN_CHARS]} (known: {', '.join(known)})")
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


def _check_size(node: yaml.Node, limit: int) -> None:
    """Raise :class:`VidclfError` if ``node`` expands to more than ``limit`` values.

    Aliases share one node, so the walk is memoised per node: linear in the file, whatever
    the expansion, and a node that contains itself is reported instead of recursing forever.
    """
    sizes: dict[int, int] = {}
    active: set[int] = set()

    def size(n: yaml.Node) -> int:
        if id(n) in sizes:
            return sizes[id(n)]
        if id(n) in active:
            raise VidclfError("a YAML alias refers to itself")
        active.add(id(n))
        total = 1
        if isinstance(n, yaml.SequenceNode):
            total += sum(size(child) for child in n.value)
        elif isinstance(n, yaml.MappingNode):
            total += sum(size(k) + size(v) for k, v in n.value)
        active.discard(id(n))
        if total > limit:
            raise VidclfError(f"too many values (over {limit}, YAML aliases expanded); not a vidclf config")
        sizes[id(n)] = total
        return total

    size(node)


def _parse_yaml(text: str) -> Any:
    """``yaml.safe_load`` with a bound on what aliases may expand to."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _check_size(node, MAX_CONFIG_VALUES)
        return loader.construct_document(node)
    finally:
        loader.dispose()


def load_config(path: str | Path | None = None) -> Config:
    """Load ``config.yaml`` (or the given file) into a validated :class:`Config`.

    Relative paths in the file are taken relative to the file (:func:`resolve_paths`).
    Errors carry the file name so the user knows where to look.
    """
    path = Path(path) if path else DEFAULT_CONFIG
    if not path.is_file():
        raise VidclfError(f"config file not found: {path}")
    try:
        if path.stat().st_size > MAX_CONFIG_BYTES:
            raise VidclfError(f"{path}: larger than {MAX_CONFIG_BYTES // 1024} KiB; not a vidclf config")
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise VidclfError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise VidclfError(f"cannot read config file {path}: {exc.strerror}") from None
    try:
        data = _parse_yaml(text) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise VidclfError(f"{path}{where}: invalid YAML ({getattr(exc, 'problem', exc)})") from None
    except RecursionError:
        raise VidclfError(f"{path}: nested too deeply; not a vidclf config") from None
    except VidclfError as exc:
        raise VidclfError(f"{path}: {exc}") from None
    try:
        cfg = from_dict(data)
    except VidclfError as exc:
        raise VidclfError(f"{path.name}: {exc}") from None
    # keys the file sets are relative to it; the defaults it leaves are the project's own files
    in_file = {f"{section}.{key}" for section, keys in data.items() if isinstance(keys, dict) for key in keys}
    in_file |= {"sources"} if data.get("sources") else set()
    defaults = set(PATH_KEYS) - in_file
    if installed():
        # Installed, the bundled files live inside site-packages: what a run reads may come
        # from there, but what it writes belongs in the user's folder, never next to the code.
        if path.resolve() == DEFAULT_CONFIG.resolve():
            in_file -= set(OUTPUT_KEYS)
        defaults -= set(OUTPUT_KEYS)
        cfg = resolve_paths(cfg, Path.cwd(), only=set(OUTPUT_KEYS) - in_file)
    cfg = resolve_paths(cfg, path.resolve().parent, only=in_file)
    return resolve_paths(cfg, DEFAULT_CONFIG.parent, only=defaults)

# Keys holding file or folder paths. In a config file they are relative to that file, so a
# config (the shipped one included) works from any working directory; flags given on the
# command line stay relative to the working directory, as users expect of a shell.
PATH_KEYS = (
    "model.path",
    "model.labels",
    "source.source",
    "output.video",
    "output.results",
    "output.srt",
    "output.timeline",
    "train.data_dir",
    "train.output_dir",
    "train.backbone_weights",
    "train.extra_data_dirs",
    "train.video_dir",
    "train.init_model",
    "train.average_models",
    "evaluate.clips",
    "evaluate.output_dir",
)
# Of those, the folders a run writes into.
OUTPUT_KEYS = ("output.video", "output.results", "output.srt", "output.timeline", "train.output_dir", "evaluate.output_dir")


def _resolve(value: str, base: Path) -> str:
    if not value or value == "-" or Path(value).is_absolute() or "://" in value or (value.isascii() and value.isdigit()):
        return value  # absolute, a URL, a webcam index or "-" (stdout)
    return str(base / value)


def resolve_paths(cfg: Config, base: str | Path, only: set[str] | None = None) -> Config:
    """``cfg`` with the relative paths of :data:`PATH_KEYS` (or of those in ``only``) made
    relative to ``base``; ``"sources"`` in ``only`` (or None) covers the paths of every entry."""
    base = Path(base)
    if cfg.sources and (only is None or "sources" in only):
        streams = [
            dataclasses.replace(s, **{k: _resolve(getattr(s, k), base) for k in ("source", "video", "results") if getattr(s, k)})
            for s in cfg.sources
        ]
        cfg = dataclasses.replace(cfg, sources=streams)
    sections = {}
    for dotted in PATH_KEYS if only is None else [k for k in PATH_KEYS if k in only]:
        section, _, key = dotted.partition(".")
        current = sections.get(section, getattr(cfg, section))
        value = getattr(current, key)
        if isinstance(value, list):
            value = [_resolve(v, base) for v in value]
        elif value is not None:
            value = _resolve(value, base)
        sections[section] = dataclasses.replace(current, **{key: value})
    return dataclasses.replace(cfg, **sections)


def override(cfg: Config, values: dict[str, Any]) -> Config:
    """Return ``cfg`` with dotted keys replaced (``{"smoothing.size": 8}``); ``None`` values are skipped."""
    data = dataclasses.asdict(cfg)
    for dotted, value in values.items():
        if value is None:
            continue
        section, _, key = str(dotted).partition(".")
        if section not in data or (key and not isinstance(data[section], dict)) or (key and key not in data[section]):
            raise VidclfError(f"unknown setting {str(dotted)[:80]!r} (the dotted keys of config.yaml, e.g. 'smoothing.size')")
        if key:
            data[section][key] = value
        else:  # a top-level list (sources)
            data[section] = [dataclasses.asdict(v) if dataclasses.is_dataclass(v) else v for v in value]
    try:
        return from_dict(data)
    except VidclfError as exc:
        raise VidclfError(f"command line: {exc}") from None


def file_run_config(cfg: Config, source: str | Path, results: str | Path) -> Config:
    """``cfg`` set up to run one video file to its end as fast as it goes (every frame, up to
    ``model.classify_fps``) and write only its per-frame results (replacing them): no window,
    dashboard, progress bar, recording, event sinks or browser view. The evaluation and archive
    batches run their files this way."""
    run = override(cfg, {"source.source": str(source), "source.realtime": False, "source.loop": False})
    return dataclasses.replace(
        run,
        output=OutputConfig(results=str(results), overwrite=True),
        dashboard=dataclasses.replace(run.dashboard, enabled="off", progress="off"),
        display=dataclasses.replace(run.display, window="off"),
        events=EventsConfig(),
        serve=ServeConfig(),
    )
