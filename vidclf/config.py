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


def _opt(
    default: Any = dataclasses.MISSING,
    help: str = "",
    *,
    factory: Any = dataclasses.MISSING,
    flag: str | tuple[str, ...] = (),
    group: str | None = None,
    min: float | None = None,
    max: float | None = None,
    choices: tuple = (),
) -> Any:
    """A config field declared once: its default, its help, its command-line flag(s) and the
    flag group ``--help`` lists it in, and the limits every value (file, flag, ``--set``,
    API) is checked against."""
    flags = (flag,) if isinstance(flag, str) else flag
    meta = {"help": help, "flags": flags, "group": group, "min": min, "max": max, "choices": choices}
    return field(default=default, default_factory=factory, metadata=meta)


@dataclass(frozen=True)
class ModelConfig:
    path: str = _opt("models/sports22.tflite", "model file (.tflite, .keras or .onnx)", flag=("--model", "-m"), group="model")
    labels: str | None = _opt(None, "labels JSON (none: <model>.labels.json)", flag=("--labels", "-l"), group="model")
    threads: int = _opt(2, "CPU threads for inference", flag="--threads", group="performance", min=1, max=64)
    inference_workers: int = _opt(
        0,
        "inference threads shared by the streams, each with its own copy of the model (0: min(threads, streams))",
        flag="--inference-workers",
        group="performance",
        min=0,
        max=64,
    )
    max_batch: int = _opt(
        8, "most queued frames classified in one model call", flag="--max-batch", group="performance", min=1, max=256
    )
    classify_fps: float | None = _opt(
        None,
        "classify at most this many frames a second (the others carry the label)",
        flag="--classify-fps",
        group="performance",
        min=0.1,
        max=1000.0,
    )
    classify_on_change: bool = _opt(
        False,
        "classify a frame only when the picture changed since the last classified one (others carry the label)",
        flag="--classify-on-change",
        group="performance",
    )
    change_threshold: float = _opt(
        0.02, "mean grey-level change (share of 0-255, on a 32x18 copy) that counts as a change", min=0.0, max=1.0
    )
    change_max_interval_s: float = _opt(
        1.0, "with classify_on_change: classify at least this often (seconds of stream time)", min=0.05, max=3600.0
    )
    input_fit: str = _opt(
        "crop", "how a frame meets the model's square input", flag="--input-fit", group="model", choices=("squash", "crop")
    )


@dataclass(frozen=True)
class SourceConfig:
    source: str = _opt("models/demo/basketball_gym_shooting.mp4", "webcam index, rtsp:// or http(s):// URL, or video file")
    queue_size: int = _opt(
        8, "frames buffered between grabber and predictor", flag="--queue-size", group="performance", min=1, max=1024
    )
    realtime: bool = _opt(False, "pace a file at its FPS and drop frames like a camera", flag="--realtime", group="source")
    loop: bool = _opt(False, "restart a file at its end", flag="--loop", group="source")
    open_timeout_s: float = _opt(
        10.0, "seconds to wait for a live source to open", flag="--open-timeout", group="live", min=0.1, max=3600.0
    )
    read_timeout_s: float = _opt(
        5.0, "seconds without a frame before a stall", flag="--read-timeout", group="live", min=0.1, max=3600.0
    )
    reconnect_initial_s: float = _opt(0.5, "first wait before a reconnect (then doubled, with jitter)", min=0.0, max=3600.0)
    reconnect_max_s: float = _opt(8.0, "longest wait between reconnects", min=0.0, max=3600.0)
    give_up_after_s: float = _opt(
        60.0,
        "seconds a lost live source may stay away (0: wait forever, also for a camera down at start)",
        flag="--give-up-after",
        group="live",
        min=0.0,
        max=1e7,
    )
    decode_threads: int = _opt(
        0,
        "FFmpeg decoding threads per source (0: auto, one; FFmpeg's own count for one file past 1080p)",
        flag="--decode-threads",
        group="performance",
        min=0,
        max=64,
    )
    decode_frames: str = _opt(
        "all",
        "files: decode every frame, or only reference frames (H.264/H.265 in MP4/MOV/MKV/TS: B-frames skipped, "
        "their rows repeat the last picture; for archive runs at classify_fps or with change gating)",
        flag="--decode-frames",
        group="performance",
        choices=("all", "reference"),
    )


@dataclass(frozen=True)
class SmoothingConfig:
    mode: str = _opt("mean", "smoothing mode", flag="--smoothing", group="labels", choices=("mean", "ema", "none"))
    size: int = _opt(8, "K, predictions in the rolling average", flag="--size", group="labels", min=1, max=10_000)
    window_s: float | None = _opt(
        None,
        "the rolling window as seconds of stream time (none: the last K predictions)",
        flag="--window-s",
        group="labels",
        min=0.01,
        max=600.0,
    )
    # 0 would never move off the first frame
    ema_alpha: float = _opt(
        0.15, "weight of the newest prediction in ema mode", flag="--ema-alpha", group="labels", min=0.001, max=1.0
    )
    uncertain_below: float = _opt(
        0.7, "say 'uncertain' below this smoothed probability", flag="--uncertain-below", group="labels", min=0.0, max=1.0
    )
    class_thresholds: dict[str, float] = _opt(
        factory=dict, help="per-class 'uncertain' thresholds (over the model's own and uncertain_below)", min=0.0, max=1.0
    )
    hysteresis_s: float = _opt(
        1.0, "seconds a new label must lead before it is shown", flag="--hysteresis", group="labels", min=0.0, max=60.0
    )
    min_segment_s: float = _opt(
        1.0, "seconds a shown label stays at least", flag="--min-segment", group="labels", min=0.0, max=600.0
    )
    background_labels: list[str] = _opt(factory=lambda: ["no_sport"], help="classes shown as 'uncertain' (no activity)")
    scene_cut: bool = _opt(True, "restart smoothing at hard cuts", flag="--scene-cut", group="labels")
    scene_cut_threshold: float = _opt(0.4, "how different two frames must be to count as a cut", min=0.01, max=1.0)


@dataclass(frozen=True)
class DisplayConfig:
    window: str = _opt("auto", "on-screen window (auto: when a display answers)", choices=("auto", "on", "off"))
    window_name: str = _opt("vidclf", "the window's title")
    max_width: int = _opt(
        1280, "scale wider frames down to this width in the window", flag="--max-width", group="outputs", min=160, max=10_000
    )
    top_k: int = _opt(3, "probability bars shown and logged", flag="--top-k", group="outputs", min=1, max=1000)


@dataclass(frozen=True)
class OutputConfig:
    video: str | None = _opt(None, "record the annotated stream (.avi or .mp4)", flag=("--output", "-o"), group="outputs")
    fps: float | None = _opt(
        None, "recording FPS (none: the source's)", flag="--output-fps", group="outputs", min=0.1, max=1000.0
    )
    results: str | None = _opt(
        None, "per-frame results (.jsonl or .csv; - = JSON lines on stdout)", flag="--results", group="outputs"
    )
    srt: str | None = _opt(None, "the label segments as subtitles (.srt), written at the end", flag="--srt", group="outputs")
    timeline: str | None = _opt(
        None, "picture of the run's label timeline (.png), written at the end", flag="--timeline", group="outputs"
    )
    overwrite: bool = _opt(False, "replace existing output files", flag="--overwrite", group="outputs")
    save_uncertain: str | None = _opt(
        None,
        "keep frames shown as uncertain or overruled by smoothing here (JPEG + JSON), to label and train on",
        flag="--save-uncertain",
        group="outputs",
    )
    save_uncertain_per_min: int = _opt(6, "most frames kept a minute per stream (near-copies skipped)", min=1, max=600)


@dataclass(frozen=True)
class EventsConfig:
    name: str | None = _opt(
        None, "the stream's name in events and MQTT topics (none: the source's)", flag="--name", group="events"
    )
    webhook: str | None = _opt(None, "POST each label change as JSON to this URL", flag="--webhook", group="events")
    webhook_timeout_s: float = _opt(2.0, "seconds a webhook POST may take", min=0.1, max=60.0)
    webhook_retries: int = _opt(3, "tries after a failed webhook POST", min=0, max=100)
    mqtt: str | None = _opt(
        None, "publish label changes to this MQTT broker ([user[:password]@]host[:port])", flag="--mqtt", group="events"
    )
    mqtt_topic: str = _opt("vidclf", "MQTT topic prefix", flag="--mqtt-topic", group="events")
    mqtt_ca: str | None = _opt(
        None, "CA file that signed an mqtts:// broker's certificate (none: the system's CAs)", flag="--mqtt-ca", group="events"
    )
    mqtt_discovery: bool = _opt(
        False,
        "publish Home Assistant MQTT discovery: a sensor per stream (state: the label)",
        flag="--mqtt-discovery",
        group="events",
    )
    mqtt_discovery_prefix: str = _opt("homeassistant", "Home Assistant's discovery topic prefix")


@dataclass(frozen=True)
class ServeConfig:
    address: str | None = _opt(None, "browser view at host:port (e.g. 127.0.0.1:8080)", flag="--serve", group="outputs")
    token: str | None = _opt(
        None, "token the browser view requires (made up when bound beyond localhost)", flag="--serve-token", group="outputs"
    )
    metrics: str | None = _opt(
        None,
        "Prometheus /metrics and /healthz at host:port (the browser view's port has them too)",
        flag="--metrics",
        group="outputs",
    )
    max_fps: float = _opt(15.0, "most frames a second sent to each viewer", min=0.1, max=120.0)
    jpeg_quality: int = _opt(80, "JPEG quality of the browser view", min=10, max=100)


@dataclass(frozen=True)
class DashboardConfig:
    enabled: str = _opt(
        "auto",
        "rich terminal dashboard (auto: on a terminal)",
        flag="--dashboard",
        group="outputs",
        choices=("auto", "on", "off"),
    )
    progress: str = _opt(
        "auto", "progress bar while a file is replayed", flag="--progress", group="outputs", choices=("auto", "on", "off")
    )
    refresh_hz: float = _opt(4.0, "dashboard redraws a second", min=0.1, max=60.0)


@dataclass(frozen=True)
class TrainConfig:
    data_dir: str = _opt("../shared/data/sports", "folder of class folders", flag="--data-dir", group="training")
    classes: list[str] = _opt(
        factory=list, help="comma-separated subset of class folder names (none: all)", flag="--classes", group="training"
    )
    backbone: str = _opt(
        "efficientnet_lite0", "the pretrained network under the head", flag="--backbone", group="training", choices=BACKBONE_NAMES
    )
    backbone_weights: str | None = _opt(None, "ImageNet backbone weights file", flag="--weights", group="training")
    output_dir: str = _opt("runs/train", "where to write the model and reports", flag="--output-dir", group="training")
    epochs: int = _opt(40, "head epochs on cached features", flag="--epochs", group="training", min=1, max=10_000)
    fine_tune_epochs: int = _opt(
        0, "end-to-end epochs after the head (0 = none)", flag="--fine-tune-epochs", group="training", min=0, max=10_000
    )
    fine_tune_layers: int = _opt(
        20, "backbone layers unfrozen for fine-tuning", flag="--fine-tune-layers", group="training", min=1, max=10_000
    )
    batch_size: int = _opt(64, "images per training step", flag="--batch-size", group="training", min=1, max=4096)
    learning_rate: float = _opt(1e-3, "head learning rate", flag="--learning-rate", group="training", min=0.0, max=10.0)
    dropout: float = _opt(0.3, "dropout before the head", min=0.0, max=0.95)
    label_smoothing: float = _opt(0.1, "label smoothing of the training targets", min=0.0, max=0.5)
    val_fraction: float = _opt(0.15, "share of each class held out for validation", min=0.0, max=0.5)
    test_fraction: float = _opt(0.15, "share of each class held out for the test", min=0.01, max=0.5)
    max_images_per_class: int = _opt(
        0, "cap per class (0 = all)", flag="--max-images-per-class", group="training", min=0, max=10_000_000
    )
    seed: int = _opt(42, "seed of the split and the training", flag="--seed", group="training", min=0, max=2**32 - 1)
    quantize: bool = _opt(True, "also write the quantised TFLite file", flag="--quantize", group="training")
    extra_data_dirs: list[str] = _opt(
        factory=list, help="comma-separated extra class-folder trees", flag="--extra-data", group="training"
    )
    video_dir: str | None = _opt(
        None, "training clips with a labels.json (their frames are trained on)", flag="--video-dir", group="training"
    )
    video_frame_step: int = _opt(
        5, "use every n-th frame of the training clips", flag="--video-frame-step", group="training", min=1, max=10_000
    )
    augment: str = _opt("flip", "fine-tuning augmentation", flag="--augment", group="training", choices=("flip", "video"))
    input_fit: str = _opt(
        "crop", "how an image meets the square input", flag="--input-fit", group="training", choices=("squash", "crop")
    )
    init_model: str | None = _opt(
        None, "fine-tune this .keras model further instead of a new head", flag="--init-model", group="training"
    )
    average_models: list[str] = _opt(
        factory=list,
        help="comma-separated .keras models of one lineage: start from the mean of their weights",
        flag="--average-models",
        group="training",
    )
    background_class: str | None = _opt(None, "add a no-sport class of this name", flag="--background-class", group="training")
    input_size: int = _opt(
        0,
        "input size training runs at (0 = the backbone's or start model's own)",
        flag="--input-size",
        group="training",
        min=0,
        max=2048,
    )
    export_size: int = _opt(
        0,
        "input size of the written model, tested and calibrated at it (0 = input_size)",
        flag="--export-size",
        group="training",
        min=0,
        max=2048,
    )
    refit_head: bool = _opt(
        False,
        "with init_model: refit only the head, on cached backbone features of the photos and every frame of "
        "video_dir's clips (seconds instead of a fine-tuning run), and fit per-class thresholds by leave-group-out",
        flag="--refit-head",
        group="training",
    )
    clip_weight: float = _opt(
        300.0, "photos one training clip counts as in a head refit", flag="--clip-weight", group="training", min=0.0, max=1e6
    )
    refit_pull: float = _opt(
        1e-3, "how strongly a head refit is held to the start model's head (L2 on the change)", min=0.0, max=1e3
    )
    refit_keep: float = _opt(
        0.3, "share of the start model's head kept in a refitted head (weights interpolated)", min=0.0, max=1.0
    )
    fit_class_thresholds: bool = _opt(
        False,
        "with refit_head: fit per-class uncertain thresholds on the held-out probabilities (off: keep the start model's)",
        flag="--fit-class-thresholds",
        group="training",
    )
    folds: int = _opt(
        5, "folds of the leave-group-out cross-validation over video_dir", flag="--folds", group="training", min=2, max=100
    )
    feature_cache: str = _opt("runs/features", "where backbone features are cached between runs", flag="--feature-cache",
                              group="training")  # fmt: skip
    distill_from: list[str] = _opt(
        factory=list,
        help="teacher model(s), comma-separated: fine-tune towards (the mean of) their probabilities too",
        flag="--distill-from",
        group="training",
    )
    distill_weight: float = _opt(
        0.5, "share of the teacher in each target (0-1)", flag="--distill-weight", group="training", min=0.0, max=1.0
    )


@dataclass(frozen=True)
class EvaluateConfig:
    clips: str = _opt("../shared/data/clips", "folder of clips with a labels.json", flag="--clips", group="evaluation")
    output_dir: str = _opt("runs/evaluate", "output folder", flag="--out", group="evaluation")
    cross_validate: str | None = _opt(
        None,
        "instead of the clips: leave-group-out cross-validation over this folder of training clips "
        "(a labels.json with groups); the model's head is refitted without each fold (train.* settings)",
        flag="--cross-validate",
        group="evaluation",
    )


@dataclass(frozen=True)
class StreamConfig:
    """One of several sources classified by one process (``sources:``)."""

    source: str = _opt("", "webcam index, rtsp:// or http(s):// URL, or video file")
    name: str | None = _opt(None, "the stream's name (none: from the source)")
    classify_fps: float | None = _opt(None, "this stream's model.classify_fps", min=0.1, max=1000.0)
    video: str | None = _opt(None, "this stream's recording (none: output.video with {name})")
    results: str | None = _opt(None, "this stream's results (none: output.results with {name})")


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


def value_at(cfg: Config, dotted: str) -> Any:
    """The value of a dotted key (``"smoothing.size"``), or of a whole section (``"sources"``)."""
    section, _, key = dotted.partition(".")
    value = getattr(cfg, section)
    return getattr(value, key) if key else value


def shown(value: Any) -> str:
    """``repr(value)`` cut to a length that fits an error line (values can be huge)."""
    text = repr(value)
    return text if len(text) <= MAX_SHOWN_CHARS else text[: MAX_SHOWN_CHARS - 3] + "..."


def _type_name(tp: Any) -> str:
    return {int: "an integer", float: "a number", str: "a string", bool: "true or false"}.get(tp, str(tp))


def _check_value(key: str, value: Any, tp: Any, meta: typing.Mapping[str, Any], errors: list[str]) -> Any:
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
        return {str(k): _check_value(f"{key}.{k}", v, value_tp, meta, errors) for k, v in value.items()}
    if origin is list:
        (item_tp,) = typing.get_args(tp)
        if value is None:
            return []
        if isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
        if not isinstance(value, list):
            raise VidclfError(f"{key} must be a list, got {shown(value)}")
        if dataclasses.is_dataclass(item_tp):
            return [_build(item_tp, v, f"{key}[{i}].", errors) for i, v in enumerate(value)]
        return [_check_value(f"{key}[{i}]", v, item_tp, {}, errors) for i, v in enumerate(value)]
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


def _build(cls: type, data: Any, prefix: str, errors: list[str]) -> Any:
    """``cls`` from ``data``; every problem is added to ``errors`` (the field keeps its default)
    so that one load reports them all."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        errors.append(f"{prefix.rstrip('.') or 'config'} must be a mapping, got {shown(data)}")
        return cls()
    hints = typing.get_type_hints(cls)
    known = {f.name: f for f in dataclasses.fields(cls)}
    for key in data:
        if key not in known:
            errors.append(f"unknown key {prefix}{str(key)[:MAX_SHOWN_CHARS]} (known: {', '.join(known)})")
    values = {}
    for name, f in known.items():
        if name not in data:
            continue
        tp = hints[name]
        if dataclasses.is_dataclass(tp):
            values[name] = _build(tp, data[name], f"{prefix}{name}.", errors)
            continue
        try:
            values[name] = _check_value(f"{prefix}{name}", data[name], tp, f.metadata, errors)
        except VidclfError as exc:
            errors.append(str(exc))
    return cls(**values)


def from_dict(data: dict[str, Any]) -> Config:
    """Build a validated :class:`Config` from nested dicts (as parsed from YAML); every bad
    key or value is reported in one :class:`VidclfError` (``; ``-separated)."""
    errors: list[str] = []
    cfg = _build(Config, data, "", errors)
    if len(errors) == 1:
        raise VidclfError(errors[0])
    if errors:
        raise VidclfError(f"{len(errors)} problems: " + "; ".join(errors))
    return cfg


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
    """Return ``cfg`` with dotted keys replaced (``{"smoothing.size": 8}``); ``None`` values are
    skipped and a mapping value adds its entries to the mapping already there."""
    data = dataclasses.asdict(cfg)
    for dotted, value in values.items():
        if value is None:
            continue
        section, _, key = str(dotted).partition(".")
        if section not in data or (key and not isinstance(data[section], dict)) or (key and key not in data[section]):
            raise VidclfError(f"unknown setting {str(dotted)[:80]!r} (the dotted keys of config.yaml, e.g. 'smoothing.size')")
        if key and isinstance(value, dict) and isinstance(data[section][key], dict):
            data[section][key] = {**data[section][key], **value}  # one entry of a mapping (class_thresholds)
        elif key:
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
        sources=[],
    )
