"""Fine-tune an ImageNet backbone on a folder of class folders; write model, reports, TFLite.

Fast on a 2-core CPU because the frozen backbone runs once per image: its pooled features
are cached, the classification head is trained on them for many cheap epochs, and only then
(optionally) the last backbone layers are fine-tuned end to end on the images.

Outputs in ``output_dir``: ``<name>.keras``, ``<name>.labels.json``, ``<name>.tflite``,
``<name>.int8.tflite``, ``plot.png``, ``report.txt``, ``confusion_matrix.csv`` / ``.png``,
``metrics.json`` and ``MODEL_CARD.md``.

Usage::

    from vidclf.config import load_config
    from vidclf.training.trainer import train
    result = train(load_config().train, name="sports3")
    result.test_accuracy
"""

from __future__ import annotations

import dataclasses
import json
import os
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from vidclf.config import TrainConfig
from vidclf.errors import VidclfError
from vidclf.plots import confusion_matrix_png, training_curves
from vidclf.runtime.classifier import default_labels_path, load_classifier, load_labels
from vidclf.runtime.keras_layers import load_keras_model
from vidclf.training.backbones import BACKBONES, build_backbone
from vidclf.training.calibration import write_calibration
from vidclf.training.dataset import load_images, scan_classes, stratified_split
from vidclf.training.distill import Teacher
from vidclf.training.export import export_tflite, with_input_size
from vidclf.training.features import backbone_features, clip_features, split_features
from vidclf.training.report import classification_report, write_confusion_csv
from vidclf.training.soup import average_models
from vidclf.training.video_data import VideoFrameBatches, extra_items, load_raw, video_frames


@dataclass
class TrainResult:
    output_dir: Path
    class_names: list[str]
    model_path: Path
    tflite_paths: list[Path]
    test_accuracy: float
    train_seconds: float
    metrics: dict = field(default_factory=dict)


def _progress(console: Console) -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[info]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=False,
    )


def class_weights(labels: np.ndarray, n_classes: int) -> dict[int, float]:
    """Inverse-frequency weights (sklearn's 'balanced'): every class counts the same."""
    counts = np.bincount(labels, minlength=n_classes).astype(float)
    return {i: float(len(labels) / (n_classes * c)) for i, c in enumerate(counts) if c > 0}


def _extract_features(backbone, images: np.ndarray, batch_size: int, progress: Progress, label: str) -> np.ndarray:
    task = progress.add_task(f"features {label}", total=len(images), info="")
    return backbone_features(backbone, images, batch_size, lambda n: progress.advance(task, n))


def _keras_progress_callback(progress: Progress, description: str, epochs: int):
    import keras

    class _RichEpochs(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.task = progress.add_task(description, total=epochs, info="")

        def on_epoch_end(self, epoch, logs=None):
            logs = logs or {}
            val = logs.get("val_accuracy", float("nan"))
            info = f"loss {logs.get('loss', 0):.3f} acc {logs.get('accuracy', 0):.3f} val_acc {val:.3f}"
            progress.update(self.task, completed=epoch + 1, info=info)

        def on_train_end(self, logs=None):
            progress.update(self.task, total=progress.tasks[self.task].completed)

    return _RichEpochs()


def _median_ms_per_frame(clf, size: int, runs: int = 60) -> float:
    frame = np.random.default_rng(0).integers(0, 255, (1, size, size, 3), dtype=np.uint8)
    for _ in range(5):
        clf.predict(frame)
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        clf.predict(frame)
        times.append((time.perf_counter() - t0) * 1000)
    return float(np.median(times))


def train(cfg: TrainConfig, name: str = "model", console: Console | None = None) -> TrainResult:
    """Run the whole recipe described in the module docstring and return its measurements."""
    import keras

    console = console or Console(stderr=True)
    if cfg.init_model and cfg.average_models:
        raise VidclfError("give train.init_model or train.average_models, not both")
    keras.utils.set_random_seed(cfg.seed)
    started = time.perf_counter()
    split, main_test = plan_split(cfg)
    class_names = split.class_names
    out = Path(cfg.output_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise VidclfError(f"cannot create output folder {out}: {exc.strerror}") from None
    # Backbone or start model first, before the images load: a bad file fails at once
    if cfg.refit_head and not (cfg.init_model and cfg.video_dir and not cfg.fine_tune_epochs):
        raise VidclfError("train.refit_head needs train.init_model, train.video_dir and fine_tune_epochs 0")
    model, backbone, size = _start_model(cfg, class_names)
    new_head = model is None
    teacher = _teacher(cfg, class_names)
    backbone_name = cfg.backbone if new_head else backbone.name  # a start model's own, whatever train.backbone says
    console.print(
        f"[bold]{len(class_names)} classes[/], train {len(split.train)} / val {len(split.val)} / test {len(split.test)} images, "
        f"backbone {backbone_name}"
    )

    def loss_fn():
        return keras.losses.CategoricalCrossentropy(label_smoothing=cfg.label_smoothing)

    video_frame_count = 0
    with _progress(console) as progress:
        parts, unreadable = _load_parts(cfg, split, class_names, size, progress, console)
        if new_head:
            model, history = _train_head(cfg, backbone, size, name, class_names, parts, progress, loss_fn)
        else:
            history = {}
        if cfg.refit_head:
            video_frame_count = _refit_head(cfg, model, class_names, progress)
        head_epochs = len(history.get("loss", []))  # where the curves mark fine-tuning's start
        if cfg.fine_tune_epochs:
            fine, video_frame_count = _fine_tune(
                cfg, model, backbone, split, parts, class_names, size, progress, loss_fn, console, teacher
            )
            for key, values in fine.items():
                history.setdefault(key, []).extend(values)
    (_, y_train), (x_val, y_val), (x_test, y_test) = parts["train"], parts["val"], parts["test"]

    train_seconds = time.perf_counter() - started
    if cfg.export_size and cfg.export_size != size:
        # Written, tested and calibrated at the size streaming will run it at
        model = with_input_size(model, cfg.export_size)
        x_val = load_images(split.val, cfg.export_size, fit=cfg.input_fit)[0]
        x_test = load_images(split.test, cfg.export_size, fit=cfg.input_fit)[0]

    model_path = out / f"{name}.keras"
    # A fresh Model over the same layers has no optimizer: the file holds weights only (the
    # Adam moments of fine-tuning would more than double its size and are useless for inference).
    keras.Model(model.inputs, model.outputs, name=name).save(model_path)
    labels_path = out / f"{name}.labels.json"
    labels_path.write_text(json.dumps(class_names, indent=1) + "\n")
    tflite_paths = [export_tflite(model, out / f"{name}.tflite")]
    if cfg.quantize:
        tflite_paths.append(export_tflite(model, out / f"{name}.int8.tflite", quantize=True))

    evaluations = _test_files([model_path, *tflite_paths], labels_path, x_test)
    # Temperature scaling on the validation images: "uncertain" thresholds then mean what they say
    calibration = None
    if len(y_val):
        clf = load_classifier(model_path, labels_path, threads=2)
        val_probs = np.concatenate([clf.predict(x_val[i : i + 32]) for i in range(0, len(x_val), 32)])
        calibration = write_calibration(model_path, val_probs, y_val, "validation split")
    report_text, summary = classification_report(y_test, evaluations[model_path.name]["predictions"], class_names)
    (out / "report.txt").write_text(report_text)
    write_confusion_csv(np.array(summary["confusion_matrix"]), class_names, out / "confusion_matrix.csv")
    confusion_matrix_png(np.array(summary["confusion_matrix"]), class_names, out / "confusion_matrix.png")
    training_curves(history, out / "plot.png", fine_tune_from=head_epochs if cfg.fine_tune_epochs else None)

    metrics = {
        "name": name,
        "classes": class_names,
        "backbone": backbone_name,
        "input_size": cfg.export_size or size,
        "train_input_size": size,
        "images": {
            "train": len(y_train),
            "val": len(y_val),
            "test": len(y_test),
            "unreadable": len(unreadable),
            "video_frames": video_frame_count,
            "distilled_frames": teacher.frames if teacher else 0,
        },
        "calibration": calibration,
        "epochs_run": len(history.get("loss", [])),
        "train_seconds": round(train_seconds, 1),
        "cpu": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
        "test_accuracy": summary["accuracy"],
        # the main folder alone (its test images come first; exact unless some were unreadable)
        "test_accuracy_main": float(np.mean(evaluations[model_path.name]["predictions"][:main_test] == y_test[:main_test])),
        "test_macro_f1": summary["macro_f1"],
        "val_accuracy_best": max(history.get("val_accuracy", [float("nan")])),
        "files": {
            fname: {
                "test_accuracy": float(np.mean(e["predictions"] == y_test)),
                "agreement_with_keras": float(np.mean(e["predictions"] == evaluations[model_path.name]["predictions"])),
                "ms_per_frame_batch1": round(e["ms_per_frame"], 2),
                "size_mb": round(e["size_mb"], 2),
            }
            for fname, e in evaluations.items()
        },
        "config": dataclasses.asdict(cfg),
        "per_class": summary["per_class"],
    }
    (out / "metrics.json").write_text(json.dumps(metrics, indent=1) + "\n")
    (out / "MODEL_CARD.md").write_text(model_card(metrics, report_text))
    console.print(
        f"[green]test accuracy {summary['accuracy']:.3f}[/] ({len(y_test)} images), trained in {train_seconds:.0f} s; wrote {out}"
    )
    return TrainResult(out, class_names, model_path, tflite_paths, summary["accuracy"], train_seconds, metrics)


def _test_files(paths: list[Path], labels_path: Path, x_test: np.ndarray) -> dict[str, dict]:
    """Every written file on the held-out test images, through the loader the streaming
    predictor uses, so the reported numbers are those of what users run: its predictions,
    speed and size, by file name."""
    evaluations = {}
    for path in paths:
        clf = load_classifier(path, labels_path, threads=2)
        probs = np.concatenate([clf.predict(x_test[i : i + 32]) for i in range(0, len(x_test), 32)])
        evaluations[path.name] = {
            "predictions": probs.argmax(1),
            "ms_per_frame": _median_ms_per_frame(clf, clf.input_size),
            "size_mb": path.stat().st_size / 1e6,
        }
    return evaluations


def plan_split(cfg: TrainConfig):
    """The seeded train / val / test split of the class folders (+ the background class and
    the extra trees' images, appended after them), and how many test images come from the
    main folder: they come first, so that their accuracy can be reported alone too."""
    class_names, items = scan_classes(cfg.data_dir, cfg.classes, cfg.max_images_per_class)
    split = stratified_split(class_names, items, cfg.val_fraction, cfg.test_fraction, cfg.seed)
    main_test = len(split.test)
    if cfg.background_class:  # "no sport": its images come from the extra trees' _none folders and null clips
        if cfg.background_class in class_names:
            raise VidclfError(f"train.background_class {cfg.background_class!r} is also a class folder of {cfg.data_dir}")
        split = dataclasses.replace(split, class_names=[*class_names, cfg.background_class])
    for folder in cfg.extra_data_dirs:
        more = extra_items(folder, split.class_names, cfg.val_fraction, cfg.test_fraction, cfg.seed, cfg.background_class)
        split = dataclasses.replace(split, train=split.train + more[0], val=split.val + more[1], test=split.test + more[2])
    return split, main_test


def _load_parts(cfg: TrainConfig, split, class_names: list[str], size: int, progress, console: Console):
    """The train / val / test images at ``size``, as {part: (images, labels)}, and the files
    that could not be read; a class with no readable image in a part is one error line."""
    parts, unreadable = {}, []
    for part in ("train", "val", "test"):
        task = progress.add_task(f"load {part}", total=None, info="")
        images, labels, bad = load_images(getattr(split, part), size, fit=cfg.input_fit)
        progress.update(task, total=len(labels), completed=len(labels))
        unreadable += bad
        parts[part] = (images, labels)
    if unreadable:
        console.print(f"[yellow]skipped {len(unreadable)} unreadable image(s), e.g. {unreadable[0]}")
    for part, (_images, labels) in parts.items():
        missing = sorted(set(range(len(class_names))) - set(labels.tolist()))
        if missing and (part != "val" or cfg.val_fraction > 0):
            raise VidclfError(f"no readable {part} images for class(es): {', '.join(class_names[i] for i in missing)}")
    return parts, unreadable


def _start_model(cfg: TrainConfig, class_names: list[str]):
    """What training starts from: (None, a fresh ImageNet backbone, size) when a new head is
    trained, or (the start model, its backbone, size) for ``init_model`` / ``average_models``.
    ``size`` is what training sees: ``input_size``, else the backbone's or the start model's own."""
    import keras

    if not (cfg.init_model or cfg.average_models):
        native = BACKBONES[cfg.backbone].input_size
        size = cfg.input_size or native
        backbone = build_backbone(cfg.backbone, cfg.backbone_weights)
        if size != native:
            backbone = with_input_size(backbone, size)
        backbone.trainable = False
        return None, backbone, size
    if cfg.average_models:
        starts = [(path, start_model(path, class_names, "train.average_models")) for path in cfg.average_models]
        model = average_models(starts)
    else:
        model = start_model(cfg.init_model, class_names)
    size = cfg.input_size or model.input_shape[1]
    if model.input_shape[1] != size:
        model = with_input_size(model, size)
    backbone = next(layer for layer in model.layers if isinstance(layer, keras.Model))
    backbone.trainable = False
    return model, backbone, size


def _teacher(cfg: TrainConfig, class_names: list[str]) -> Teacher | None:
    """The distillation teacher (``train.distill_from``), checked before any image loads."""
    if not cfg.distill_from:
        return None
    if cfg.augment != "video" or not cfg.fine_tune_epochs:
        raise VidclfError("train.distill_from needs fine-tuning with video batches (train.augment: video, fine_tune_epochs > 0)")
    return Teacher(cfg.distill_from, class_names)


def _fine_tune(cfg: TrainConfig, model, backbone, split, parts: dict, class_names: list[str], size: int, progress, loss_fn,
               console: Console, teacher: Teacher | None = None) -> tuple[dict, int]:
    """Train the last ``fine_tune_layers`` of the backbone and the head end to end on the
    images (BatchNormalization stays frozen), towards the teacher's probabilities too when
    there is one; return the history and the number of training clip frames used."""
    import keras
    import tensorflow as tf

    (x_train, y_train), (x_val, y_val) = parts["train"], parts["val"]
    n_classes = len(class_names)
    backbone.trainable = True
    for layer in backbone.layers[: -cfg.fine_tune_layers]:
        layer.trainable = False
    for layer in backbone.layers:  # batch statistics of a small dataset would wreck ImageNet's
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.trainable = False
    model.compile(keras.optimizers.Adam(cfg.learning_rate / 10), loss_fn(), metrics=["accuracy"])

    def augment(x, y):
        x = tf.image.random_flip_left_right(tf.cast(x, tf.float32))
        return x, y

    video_frame_count = 0
    if cfg.augment == "video":
        raw, raw_labels = load_raw(split.train)
        if cfg.video_dir:
            frames, frame_labels = video_frames(cfg.video_dir, class_names, cfg.video_frame_step, cfg.background_class)
            raw, raw_labels = raw + frames, np.concatenate([raw_labels, frame_labels])
            video_frame_count = len(frames)
            console.print(f"+ {len(frames)} frames of training clips from {cfg.video_dir}")
        weights = class_weights(raw_labels, n_classes)
        train_ds = VideoFrameBatches(
            raw, raw_labels, n_classes, cfg.batch_size, size, cfg.input_fit, cfg.seed, weights, teacher=teacher,
            teacher_weight=cfg.distill_weight, workers=2,
        )
    else:
        weights = class_weights(y_train, n_classes)
        train_ds = (
            tf.data.Dataset.from_tensor_slices((x_train, keras.utils.to_categorical(y_train, n_classes)))
            .shuffle(len(x_train), seed=cfg.seed)
            .batch(cfg.batch_size)
            .map(augment, num_parallel_calls=tf.data.AUTOTUNE)
            .prefetch(2)
        )
    val_ds = tf.data.Dataset.from_tensor_slices((x_val.astype(np.float32), keras.utils.to_categorical(y_val, n_classes))).batch(
        cfg.batch_size
    )
    history = model.fit(
        train_ds,
        validation_data=val_ds if len(y_val) else None,
        epochs=cfg.fine_tune_epochs,
        shuffle=False,  # the dataset reshuffles itself every epoch
        class_weight=None if cfg.augment == "video" else weights,  # video batches carry their weights
        verbose=0,
        callbacks=[
            keras.callbacks.EarlyStopping("val_loss" if len(y_val) else "loss", patience=2, restore_best_weights=True),
            _keras_progress_callback(progress, "fine-tune", cfg.fine_tune_epochs),
        ],
    ).history
    backbone.trainable = False
    return history, video_frame_count


def _train_head(cfg: TrainConfig, backbone, size: int, name: str, class_names: list[str], parts: dict, progress, loss_fn):
    """Cache the frozen backbone's features once, train the dropout + softmax head on them;
    return the image model (backbone + head) and the training history."""
    import keras

    (x_train, y_train), (x_val, y_val) = parts["train"], parts["val"]
    n_classes = len(class_names)
    f_train = _extract_features(backbone, x_train, cfg.batch_size, progress, "train")
    f_val = _extract_features(backbone, x_val, cfg.batch_size, progress, "val")
    # The head's layers are shared by the feature model (trained now) and the image model (saved).
    dropout = keras.layers.Dropout(cfg.dropout, name="head_dropout")
    dense = keras.layers.Dense(len(class_names), activation="softmax", name="predictions")
    feat_in = keras.Input((f_train.shape[1],), name="features")
    head = keras.Model(feat_in, dense(dropout(feat_in)), name="head")
    head.compile(keras.optimizers.Adam(cfg.learning_rate), loss_fn(), metrics=["accuracy"])
    validation = (f_val, keras.utils.to_categorical(y_val, n_classes)) if len(y_val) else None
    monitor = "val_loss" if validation else "loss"
    history = head.fit(
        f_train,
        keras.utils.to_categorical(y_train, n_classes),
        validation_data=validation,
        epochs=cfg.epochs,
        batch_size=cfg.batch_size,
        class_weight=class_weights(y_train, n_classes),
        verbose=0,
        callbacks=[
            keras.callbacks.EarlyStopping(monitor, patience=8, restore_best_weights=True),
            _keras_progress_callback(progress, "train head", cfg.epochs),
        ],
    ).history

    image_in = keras.Input((size, size, 3), name="image")
    model = keras.Model(image_in, dense(dropout(backbone(image_in))), name=name)
    return model, history


def _refit_head(cfg: TrainConfig, model, class_names: list[str], progress) -> int:
    """Refit ``model``'s head in place on cached backbone features of the photo split's training
    part and of every frame of ``video_dir``'s clips (:mod:`vidclf.training.head_refit`); returns
    the number of clip frames used."""
    from vidclf.training.head_refit import RefitSettings, fit_head, training_rows

    task = progress.add_task("features", total=None, info="clips")
    clips = clip_features(model, cfg.video_dir, class_names, cfg.background_class, cfg.input_fit, cfg.feature_cache,
                          lambda name, frames: progress.update(task, info=name))  # fmt: skip
    progress.update(task, info="photos")
    photos = split_features(model, cfg, cfg.feature_cache)
    settings = RefitSettings(cfg.clip_weight, cfg.refit_pull, keep=cfg.refit_keep)
    x, y, w = training_rows(photos["train"], list(clips.values()), class_names, cfg.background_class, cfg.clip_weight)
    progress.update(task, info="fit head")
    layer = model.get_layer("predictions")
    layer.set_weights(list(fit_head(x, y, tuple(layer.get_weights()), w, settings)))
    progress.update(task, total=1, completed=1, info="done")
    return len(y) - len(photos["train"][1])


def start_model(path: str, class_names: list[str], key: str = "train.init_model"):
    """An existing model of this project to fine-tune further. Its classes must be ours, or
    ours less the last (a background class being added): the head then grows by one output,
    the old classes keeping their weights."""
    import keras

    labels = load_labels(default_labels_path(path))
    if labels != class_names and labels != class_names[:-1]:
        raise VidclfError(f"{key} {path} has classes {labels}, the data has {class_names}")
    model = load_keras_model(path, key)
    if labels == class_names:
        return model
    old = model.get_layer("predictions")
    kernel, bias = old.get_weights()
    dense = keras.layers.Dense(len(class_names), activation="softmax", name="predictions")
    features = old.input
    model = keras.Model(model.inputs, dense(features), name=model.name)
    # the new class starts as an average class that is rarely chosen; fine-tuning shapes it
    dense.set_weights([np.concatenate([kernel, kernel.mean(1, keepdims=True)], 1), np.append(bias, bias.min() - 1.0)])
    return model


def model_card(metrics: dict, report_text: str) -> str:
    """Markdown model card from ``metrics.json`` content."""
    rows = []
    for fname, f in metrics["files"].items():
        cells = [f"`{fname}`", f"{f['size_mb']:.1f}", f"{f['test_accuracy']:.3f}", f"{f['agreement_with_keras']:.3f}"]
        rows.append("| " + " | ".join([*cells, f"{f['ms_per_frame_batch1']:.1f}"]) + " |")
    files = "\n".join(rows)
    cfg, images = metrics["config"], metrics["images"]
    tuned = f"; last {cfg['fine_tune_layers']} layers fine-tuned" if cfg["fine_tune_epochs"] else ""
    sources = [f"`{d}`" for d in cfg.get("extra_data_dirs") or []]
    if images.get("video_frames"):
        sources.append(f"{images['video_frames']} frames of the clips in `{cfg.get('video_dir')}`")
    fit = cfg.get("input_fit", "squash")
    how = "the centred square of the frame" if fit == "crop" else "the whole frame resized"
    fit_text = f"`{fit}` fit ({how}, `vidclf.runtime.preprocess.prepare_image`)"
    size = metrics.get("input_size")
    size_text = f" {size}x{size}" if size else ""
    if size and size != metrics.get("train_input_size"):
        size_text += f" (trained at {metrics['train_input_size']}, tested and calibrated at {size})"
    extra_data = f"; also {', '.join(sources)} (augmentation: {cfg.get('augment')})" if sources else ""
    split = (
        f"train {images['train']}, val {images['val']}, test {images['test']} images ({images['unreadable']} unreadable skipped)"
    )
    start = ""
    if cfg.get("average_models"):
        start = f"\n- **Weights**: the mean of {', '.join(f'`{m}`' for m in cfg['average_models'])} (a model soup)"
    elif cfg.get("init_model"):
        start = f"\n- **Started from**: `{cfg['init_model']}`"
    if cfg.get("distill_from"):
        teachers = ", ".join(f"`{m}`" for m in cfg["distill_from"])
        start += f"\n- **Distilled from**: {teachers} (targets {cfg['distill_weight']:g} teacher, the rest label)"
    return f"""# Model card: {metrics["name"]}

Image classifier for sports scenes, trained by `train.py` (vidclf).

- **Classes ({len(metrics["classes"])})**: {", ".join(metrics["classes"])}
- **Backbone**: {metrics["backbone"]} (ImageNet-pretrained, frozen{tuned}) + dropout {cfg["dropout"]} + softmax head{start}
- **Input**: RGB square{size_text}, {fit_text}; normalisation is inside the model
- **Data**: `{cfg["data_dir"]}`, stratified split seed {cfg["seed"]}: {split}{extra_data}
- **Training**: {metrics["epochs_run"]} epochs, {metrics["train_seconds"]:.0f} s wall on {metrics["cpu"]}
- **Test accuracy**: {metrics["test_accuracy"]:.3f} (macro F1 {metrics["test_macro_f1"]:.3f}); \
best validation accuracy {metrics["val_accuracy_best"]:.3f}

## Files (each evaluated on the same test images)

| file | MB | test accuracy | same top-1 as .keras | CPU ms/frame (batch 1, median) |
|---|---|---|---|---|
{files}

## Test report

```
{report_text}```

## Limits

The training images are an unlicensed web scrape with label noise (equipment-only photos,
adverts, diagrams). The model classifies whole frames; it knows nothing outside its classes
and will name one of them for any input (no "other" class).
"""
