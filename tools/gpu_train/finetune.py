"""Fine-tune a packed model end to end on a GPU with PyTorch; write its weights for ``unpack.py``.

What a 2-core CPU cannot afford: every layer trained (``train.py`` trains the last 60-100 of
~250, 2-4 epochs, 15-20 minutes a run), for 10-30 epochs. The training frames are made exactly as
``train.py --augment video`` makes them (:func:`vidclf.training.augment.video_frame`, then
:func:`vidclf.runtime.preprocess.prepare_image`), with the same label smoothing, the same
inverse-frequency class weights and the same dropout; only the optimiser differs (AdamW with a
warm-up and a cosine decay, bf16 autocast). Several runs (``--run``) share one decoding of the pack.

Each run writes ``OUT/NAME.npz`` (the state dict, float32: :mod:`vidclf.training.lite_layout`'s
layout) and its epochs' validation accuracy and loss to ``OUT/log.json``. Before any run, the
packed start weights must reproduce the Keras model's probabilities on ``check.npz``.

Usage (on the GPU machine, after ``pack.py`` here)::

    python3 tools/gpu_train/finetune.py .gpu/pack out --run a:epochs=15,lr=1e-4,bn=frozen,seed=1
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from lite_torch import LiteClassifier  # noqa: E402

from vidclf.runtime.preprocess import prepare_image  # noqa: E402
from vidclf.training.augment import video_frame  # noqa: E402

RUN_KEYS = {"epochs": int, "lr": float, "bn": str, "seed": int, "batch": int, "wd": float}
RUN_DEFAULTS = {"epochs": 15, "lr": 1e-4, "bn": "frozen", "seed": 1, "batch": 128, "wd": 1e-5}


def parse_run(text: str) -> tuple[str, dict]:
    """``name:key=value,...`` -> (name, settings); raises ValueError naming a bad key or value."""
    name, _, rest = text.partition(":")
    if not name:
        raise ValueError(f"--run {text!r}: give a name first (NAME:key=value,...)")
    settings = dict(RUN_DEFAULTS)
    for pair in filter(None, rest.split(",")):
        key, _, value = pair.partition("=")
        if key not in RUN_KEYS:
            raise ValueError(f"--run {text!r}: unknown key {key!r} (use {', '.join(RUN_KEYS)})")
        try:
            settings[key] = RUN_KEYS[key](value)
        except ValueError:
            raise ValueError(f"--run {text!r}: {key}={value!r} is not a {RUN_KEYS[key].__name__}") from None
    if settings["bn"] not in ("frozen", "train"):
        raise ValueError(f"--run {text!r}: bn is frozen or train")
    if settings["epochs"] < 1 or settings["batch"] < 1 or settings["lr"] <= 0:
        raise ValueError(f"--run {text!r}: epochs and batch must be >= 1, lr > 0")
    return name, settings


def _decode(blob: np.ndarray) -> np.ndarray:
    return cv2.imdecode(blob, cv2.IMREAD_COLOR)


def load_pack(pack: Path, limit: int = 0) -> tuple[dict, dict[str, tuple[list[np.ndarray], np.ndarray]]]:
    meta = json.loads((pack / "meta.json").read_text())
    blobs: dict[str, list] = {"train": [], "val": []}
    labels: dict[str, list] = {"train": [], "val": []}
    for name in meta["data_files"]:
        data = np.load(pack / name)
        for part in blobs:
            offsets = data[f"{part}_offsets"]
            raw = data[f"{part}_bytes"]
            blobs[part] += [raw[offsets[i] : offsets[i + 1]] for i in range(len(offsets) - 1)]
            labels[part].append(data[f"{part}_labels"])
    parts = {}
    with ProcessPoolExecutor() as pool:
        for part in blobs:
            chosen = blobs[part][:: max(1, len(blobs[part]) // limit)] if limit else blobs[part]
            y = np.concatenate(labels[part])
            y = y[:: max(1, len(y) // limit)] if limit else y
            parts[part] = (list(pool.map(_decode, chosen, chunksize=64)), y)
    return meta, parts


class VideoFrames(torch.utils.data.Dataset):
    """Random video-like frames of the training images, fresh every epoch (``set_epoch``)."""

    def __init__(self, images: list[np.ndarray], labels: np.ndarray, weights: np.ndarray, size: int, fit: str, seed: int):
        self.images, self.labels, self.weights = images, labels, weights
        self.size, self.fit, self.seed, self.epoch = size, fit, seed, 0

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int):
        rng = np.random.default_rng((self.seed, self.epoch, i))
        x = prepare_image(video_frame(self.images[i], rng), self.size, self.fit)
        return torch.from_numpy(x), int(self.labels[i]), float(self.weights[self.labels[i]])


def _set_bn(model: torch.nn.Module, mode: str) -> None:
    """bn=frozen: batch norm keeps its statistics (as train.py's fine-tuning does); train: updates them."""
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.train(mode == "train")


@torch.no_grad()
def evaluate(model, x: torch.Tensor, y: torch.Tensor, device) -> tuple[float, float]:
    model.eval()
    logits = torch.cat([model(x[i : i + 256].to(device)).float() for i in range(0, len(x), 256)])
    y = y.to(device)
    return float((logits.argmax(1) == y).float().mean()), float(F.cross_entropy(logits, y))


def load_start(model, pack: Path) -> None:
    state = {k: torch.from_numpy(v.astype(np.float32)) for k, v in np.load(pack / "start.npz").items()}
    model.load_state_dict(state, strict=True)


def check_start(model, pack: Path, device) -> float:
    """Largest probability difference between this model and the Keras one on check.npz."""
    check = np.load(pack / "check.npz")
    model.eval()
    with torch.no_grad():
        p = torch.softmax(model(torch.from_numpy(check["images"]).to(device)).float(), 1).cpu().numpy()
    return float(np.abs(p - check["probabilities"]).max())


def train_run(name: str, s: dict, meta: dict, parts, val: tuple[torch.Tensor, torch.Tensor], pack: Path, out: Path, device,
              workers: int, log: dict) -> None:
    torch.manual_seed(s["seed"])
    n_classes, size, fit = len(meta["classes"]), meta["input_size"], meta["input_fit"]
    model = LiteClassifier(meta["variant"], n_classes, meta["dropout"]).to(device)
    load_start(model, pack)
    model = model.to(memory_format=torch.channels_last)
    images, labels = parts["train"]
    data = VideoFrames(images, labels, np.array(meta["class_weights"], np.float32), size, fit, s["seed"])
    vx, vy = val
    steps_per_epoch = math.ceil(len(data) / s["batch"])
    total, warmup = steps_per_epoch * s["epochs"], steps_per_epoch
    optimizer = torch.optim.AdamW(model.parameters(), lr=s["lr"], weight_decay=s["wd"])
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: min(1.0, (step + 1) / warmup) * 0.5 * (1 + math.cos(math.pi * min(step, total) / total))
    )
    acc0, loss0 = evaluate(model, vx, vy, device)
    epochs = [{"epoch": 0, "val_accuracy": acc0, "val_loss": loss0}]
    print(f"[{name}] {s} start: val acc {acc0:.4f} loss {loss0:.4f}", flush=True)
    started = time.perf_counter()
    for epoch in range(1, s["epochs"] + 1):
        data.epoch = epoch
        loader = torch.utils.data.DataLoader(
            data,
            batch_size=s["batch"],
            shuffle=True,
            num_workers=workers,
            drop_last=True,
            generator=torch.Generator().manual_seed(s["seed"] * 1000 + epoch),
            pin_memory=device.type == "cuda",
        )
        model.train()
        _set_bn(model, s["bn"])
        seen, loss_sum = 0, 0.0
        for x, y, w in loader:
            x, y, w = x.to(device, non_blocking=True), y.to(device), w.to(device)
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
                logits = model(x)
            loss = F.cross_entropy(logits.float(), y, label_smoothing=meta["label_smoothing"], reduction="none")
            loss = (loss * w).mean()
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
            seen += len(y)
            loss_sum += float(loss.detach()) * len(y)
        acc, vloss = evaluate(model, vx, vy, device)
        epochs.append(
            {
                "epoch": epoch,
                "train_loss": loss_sum / max(seen, 1),
                "val_accuracy": acc,
                "val_loss": vloss,
                "seconds": round(time.perf_counter() - started, 1),
            }
        )
        print(
            f"[{name}] epoch {epoch}: train loss {loss_sum / max(seen, 1):.4f} val acc {acc:.4f} loss {vloss:.4f} "
            f"({time.perf_counter() - started:.0f} s)",
            flush=True,
        )
    state = {k: v.detach().float().cpu().numpy() for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")}
    np.savez(out / f"{name}.npz", **state)
    log[name] = {"settings": s, "epochs": epochs}
    (out / "log.json").write_text(json.dumps(log, indent=1) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pack", type=Path, help="folder written by pack.py")
    parser.add_argument("out", type=Path, help="folder for NAME.npz and log.json")
    parser.add_argument("--run", action="append", required=True, help="NAME:epochs=15,lr=1e-4,bn=frozen,seed=1,batch=128,wd=1e-5")
    parser.add_argument("--workers", type=int, default=0, help="data loader processes (0: CPU count - 1)")
    parser.add_argument("--limit", type=int, default=0, help="use about this many images per part (a smoke test)")
    parser.add_argument("--stop-after-s", type=float, default=0, help="start no run that would end after this (0: no limit)")
    args = parser.parse_args(argv)
    try:
        runs = [parse_run(text) for text in args.run]
    except ValueError as exc:
        parser.error(str(exc))
    if not (args.pack / "meta.json").is_file():
        parser.error(f"{args.pack} is not a folder written by pack.py (no meta.json)")
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.type == "cuda":
        print(f"{torch.cuda.get_device_name()}, torch {torch.__version__}, OpenCV {cv2.__version__}", flush=True)
    cv2.setNumThreads(1)  # one per loader process: the processes are the parallelism
    args.out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    meta, parts = load_pack(args.pack, args.limit)
    print(
        f"{device}: {len(parts['train'][1])} train / {len(parts['val'][1])} val images decoded in "
        f"{time.perf_counter() - started:.0f} s",
        flush=True,
    )
    model = LiteClassifier(meta["variant"], len(meta["classes"]), meta["dropout"]).to(device)
    load_start(model, args.pack)
    difference = check_start(model, args.pack, device)
    print(f"start weights vs the Keras model: largest probability difference {difference:.4f}", flush=True)
    if difference > 0.02:
        print("error: the PyTorch copy does not reproduce the Keras model; nothing trained", file=sys.stderr)
        return 1
    workers = args.workers or max(1, (torch.multiprocessing.cpu_count() or 2) - 1)
    # the validation photos, prepared once for every run
    size, fit = meta["input_size"], meta["input_fit"]
    val = torch.from_numpy(np.stack([prepare_image(im, size, fit) for im in parts["val"][0]])), torch.from_numpy(parts["val"][1])
    log: dict = {}
    epoch_s = 0.0  # seconds per epoch of the runs so far, to skip a run that cannot finish in time
    for name, settings in runs:
        elapsed = time.perf_counter() - started
        if args.stop_after_s and epoch_s and elapsed + epoch_s * settings["epochs"] * 1.1 > args.stop_after_s:
            print(f"[{name}] skipped: ~{epoch_s * settings['epochs']:.0f} s would end after --stop-after-s", flush=True)
            continue
        run_started = time.perf_counter()
        train_run(name, settings, meta, parts, val, args.pack, args.out, device, workers, log)
        epoch_s = max(epoch_s, (time.perf_counter() - run_started) / settings["epochs"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
