"""Score a model + smoothing settings on labelled video clips, through the streaming code.

Every clip is run by :func:`vidclf.pipeline.orchestrator.run_pipeline` (same grabber, preprocessing,
calibration, smoother, decoder as ``stream_classify.py``) into a per-frame results file;
the scores are computed from those rows alone, so what is scored is what a user would see.

Ground truth is a ``labels.json`` as in ``../shared/data/clips``: per clip a ``class`` (one of
the model's labels, or null: no sport, the right answer is ``uncertain``) and optionally
``segments`` (``label``, ``first_frame``, ``last_frame``) for clips whose activity changes.

Writes ``evaluation.json``, ``evaluation.md`` (a table for a model card), and per clip its
results rows and a timeline picture. Per clip: frame accuracy (raw top-1 and the label shown), dominant label and its share, label
changes per minute, share of ``uncertain`` frames, and at each true segment boundary the
switch latency (frames and seconds until the new true label is shown and holds for
:data:`HOLD_S`). Plus a summary, a JSON file and a timeline picture per clip.

Usage::

    report = evaluate_clips(cfg, "../shared/data/clips", out_dir="runs/evaluate")
    report["summary"]["sport_clips_right"]     # e.g. "8/8"
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from rich.console import Console

from vidclf import plots
from vidclf.config import Config, file_run_config
from vidclf.errors import VidclfError
from vidclf.pipeline.orchestrator import run_pipeline
from vidclf.runtime.classifier import Classifier, load_classifier
from vidclf.streaming.decoding import UNCERTAIN

HOLD_S = 0.5  # a switch counts once the new label is shown for this long without a break

log = logging.getLogger("vidclf")


@dataclass(frozen=True)
class ClipTruth:
    name: str
    label: str | None  # the clip's class, None: no sport (uncertain is right)
    segments: tuple[tuple[str, int, int], ...] = ()  # (label, first_frame, last_frame)

    def at(self, frame: int) -> str:
        """The right answer for ``frame``: a class name or ``uncertain``."""
        for label, first, last in self.segments:
            if first <= frame <= last:
                return label
        return self.label or UNCERTAIN

    @property
    def kind(self) -> str:
        """``sport`` (one class), ``none`` (no sport) or ``segments`` (the activity changes)."""
        return "segments" if self.segments else ("sport" if self.label else "none")


def load_ground_truth(path: str | Path) -> list[ClipTruth]:
    """The clips of a ``labels.json``; a file that is not one is a single error listing every
    problem found (never a traceback: the file is user input)."""
    path = Path(path)

    def no_constants(name: str):
        raise ValueError(f"{name} is not JSON")

    try:
        data = json.loads(path.read_text(), parse_constant=no_constants)
    except FileNotFoundError:
        raise VidclfError(f"ground truth file not found: {path}") from None
    except (OSError, ValueError, RecursionError) as exc:
        raise VidclfError(f"ground truth {path} is not a labels.json ({type(exc).__name__}: {str(exc)[:120]})") from None
    clips = data.get("clips") if isinstance(data, dict) else None
    if not isinstance(clips, dict) or not clips:
        raise VidclfError(f"ground truth {path}: 'clips' must map clip file names to {{\"class\": ...}} entries")
    truths, problems = [], []
    for name, entry in sorted(clips.items()):
        found = _clip_problems(entry)
        if found:
            problems += [f"{name}: {problem}" for problem in found]
            continue
        segments = tuple((s["label"], s["first_frame"], s["last_frame"]) for s in entry.get("segments", []))
        truths.append(ClipTruth(name, entry.get("class"), segments))
    if problems:
        shown = "; ".join(problems[:5]) + (f"; and {len(problems) - 5} more" if len(problems) > 5 else "")
        raise VidclfError(f"ground truth {path}: {shown}")
    return truths


def _clip_problems(entry) -> list[str]:
    """What is wrong with one clip's entry (empty: nothing)."""
    if not isinstance(entry, dict):
        return ["entry must be an object such as {\"class\": \"tennis\"}"]
    problems = []
    if entry.get("class") is not None and not isinstance(entry["class"], str):
        problems.append("class must be a class name or null")
    segments = entry.get("segments", [])
    if not isinstance(segments, list):
        return [*problems, "segments must be a list"]
    for i, seg in enumerate(segments):
        ok = (
            isinstance(seg, dict)
            and isinstance(seg.get("label"), str)
            and all(type(seg.get(k)) is int and seg[k] >= 0 for k in ("first_frame", "last_frame"))
            and seg["first_frame"] <= seg["last_frame"]
        )
        if not ok:
            problems.append(f"segments[{i}] must have a label and 0 <= first_frame <= last_frame (integers)")
    return problems


def _changes(labels: list[str]) -> int:
    return sum(a != b for a, b in zip(labels, labels[1:], strict=False))


def switch_latencies(truth: ClipTruth, shown: list[str], times: list[float]) -> list[dict]:
    """At each true boundary: how long until the new true label is shown and holds."""
    out = []
    for (label, first, last), _previous in zip(truth.segments[1:], truth.segments, strict=False):
        latency = None
        for start in range(first, min(last, len(shown) - 1) + 1):
            if shown[start] != label:
                continue
            end = start
            while end + 1 <= min(last, len(shown) - 1) and shown[end + 1] == label:
                end += 1
            if times[end] - times[start] >= HOLD_S or end == min(last, len(shown) - 1):
                latency = start - first
                break
        out.append(
            {
                "frame": first,
                "to": label,
                "latency_frames": latency,
                "latency_s": None if latency is None else round(times[first + latency] - times[first], 3),
            }
        )
    return out


def score_clip(truth: ClipTruth, rows: list[dict]) -> dict:
    """The per-clip figures, from the per-frame rows of a results file."""
    if not rows:
        raise VidclfError(f"{truth.name}: no frames were classified")
    expected = [truth.at(r["frame"]) for r in rows]
    shown = [r["label"] for r in rows]
    raw = [r["top_k"][0][0] for r in rows]
    times = [r["position_s"] if r["position_s"] is not None else r["time_s"] for r in rows]
    duration_min = max(times[-1] - times[0], 1e-6) / 60 if len(rows) > 1 else 1e-6
    dominant, dominant_count = Counter(shown).most_common(1)[0]
    sport_frames = [i for i, e in enumerate(expected) if e != UNCERTAIN]
    return {
        "clip": truth.name,
        "truth": truth.label if truth.kind != "segments" else [s[0] for s in truth.segments],
        "kind": truth.kind,
        "frames": len(rows),
        "accuracy": round(float(np.mean([s == e for s, e in zip(shown, expected, strict=True)])), 4),
        # raw = the model's top-1 per frame, no smoothing and no "uncertain": only sport frames
        "raw_accuracy": round(float(np.mean([raw[i] == expected[i] for i in sport_frames])), 4) if sport_frames else None,
        "dominant_label": dominant,
        "dominant_share": round(dominant_count / len(rows), 4),
        "changes": _changes(shown),
        "changes_per_min": round(_changes(shown) / duration_min, 2),
        "uncertain_share": round(shown.count(UNCERTAIN) / len(rows), 4),
        "switches": switch_latencies(truth, shown, times),
    }


def summarise(scores: list[dict]) -> dict:
    sport = [s for s in scores if s["kind"] == "sport"]
    none = [s for s in scores if s["kind"] == "none"]
    single = sport + none
    switches = [w for s in scores for w in s["switches"]]

    def mean(values):
        values = [v for v in values if v is not None]
        return round(float(np.mean(values)), 4) if values else None

    return {
        "sport_clips_right": f"{sum(s['dominant_label'] == s['truth'] for s in sport)}/{len(sport)}",
        "sport_accuracy": mean([s["accuracy"] for s in sport]),
        "sport_raw_accuracy": mean([s["raw_accuracy"] for s in sport]),
        "sport_uncertain_share": mean([s["uncertain_share"] for s in sport]),
        "none_uncertain_share": mean([s["uncertain_share"] for s in none]),
        "changes_per_min_mean": mean([s["changes_per_min"] for s in single]),
        "changes_per_min_max": max((s["changes_per_min"] for s in single), default=None),
        "switch_latency_s": [w["latency_s"] for w in switches],
        "segments_accuracy": mean([s["accuracy"] for s in scores if s["kind"] == "segments"]),
    }


def summary_line(summary: dict) -> str:
    latencies = ", ".join("never" if x is None else f"{x:.2f}" for x in summary["switch_latency_s"]) or "-"
    return (
        f"sport clips right {summary['sport_clips_right']}; sport frame accuracy {summary['sport_accuracy']} "
        f"(raw {summary['sport_raw_accuracy']}, uncertain {summary['sport_uncertain_share']}); "
        f"null clips uncertain {summary['none_uncertain_share']}; changes/min mean {summary['changes_per_min_mean']} "
        f"(max {summary['changes_per_min_max']}); switch latency s [{latencies}]; "
        f"segment clips accuracy {summary['segments_accuracy']}"
    )


def markdown_report(report: dict) -> str:
    """The per-clip table and the summary, for a model card."""
    lines = [
        "| clip | truth | frame accuracy (raw) | dominant label (share) | changes/min | uncertain | switch latency |",
        "|---|---|---|---|---|---|---|",
    ]
    for s in report["clips"]:
        truth = " → ".join(s["truth"]) if isinstance(s["truth"], list) else (s["truth"] or "none")
        raw = "" if s["raw_accuracy"] is None else f" ({s['raw_accuracy']:.2f})"
        switches = ", ".join("never" if w["latency_s"] is None else f"{w['latency_s']:.2f} s" for w in s["switches"])
        lines.append(
            f"| {s['clip']} | {truth} | {s['accuracy']:.2f}{raw} | {s['dominant_label']} ({s['dominant_share']:.2f}) "
            f"| {s['changes_per_min']:.1f} | {s['uncertain_share']:.2f} | {switches or '-'} |"
        )
    lines += ["", f"Summary: {summary_line(report['summary'])}.", ""]
    return "\n".join(lines)


def draw_timeline(
    truth: ClipTruth, rows: list[dict], threshold: float, path: str | Path, labels: list[str] | None = None
) -> Path:
    """PNG: the true label strip, the shown label strip, the raw top-1 strip and the
    confidence of the shown label (with the uncertain threshold) over the clip's time."""
    times = [r["position_s"] if r.get("position_s") is not None else r["time_s"] for r in rows]
    strips = [
        ("truth", times, [truth.at(r["frame"]) for r in rows]),
        ("shown", times, [r["label"] for r in rows]),
        ("raw top-1", times, [r["top_k"][0][0] for r in rows]),
    ]
    confidence = (times, [r["confidence"] for r in rows])
    return plots.label_timeline(strips, path, confidence, threshold, f"{truth.name} ({len(rows)} frames)", labels or ())


def _read_rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def evaluate_clips(
    cfg: Config,
    clips_dir: str | Path,
    ground_truth: str | Path | None = None,
    out_dir: str | Path = "runs/evaluate",
    only: list[str] | None = None,
    classifier: Classifier | None = None,
    console: Console | None = None,
) -> dict:
    """Run every labelled clip through the pipeline; write ``evaluation.json``, per-clip
    results and timelines into ``out_dir``; return the report."""
    clips_dir = Path(clips_dir)
    truths = load_ground_truth(ground_truth or clips_dir / "labels.json")
    if only:
        missing = set(only) - {t.name for t in truths}
        if missing:
            raise VidclfError(f"not in the ground truth: {', '.join(sorted(missing))}")
        truths = [t for t in truths if t.name in only]
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    console = console or Console()
    classifier = classifier or load_classifier(cfg.model.path, cfg.model.labels, cfg.model.threads)
    unknown = {t.label for t in truths if t.label} | {s[0] for t in truths for s in t.segments}
    unknown -= set(classifier.labels)
    if unknown:
        raise VidclfError(f"the ground truth names classes the model does not have: {', '.join(sorted(unknown))}")
    pictures = plots.available()
    if not pictures:
        log.warning("no timeline pictures: matplotlib is not installed (pip install matplotlib)")
    scores = []
    for truth in truths:
        clip = clips_dir / truth.name
        results = out_dir / f"{truth.name}.jsonl"
        summary = run_pipeline(file_run_config(cfg, clip, results), console, classifier)
        if summary.error:
            raise VidclfError(f"{truth.name}: {summary.error}")
        rows = _read_rows(results)
        score = score_clip(truth, rows)
        if pictures:
            path = out_dir / f"{truth.name}.timeline.png"
            timeline = draw_timeline(truth, rows, cfg.smoothing.uncertain_below, path, classifier.labels)
            score["timeline"] = str(timeline)
        scores.append(score)
    report = {
        "model": str(cfg.model.path),
        "settings": dataclasses.asdict(cfg.smoothing),
        "ground_truth": str(ground_truth or clips_dir / "labels.json"),
        "summary": summarise(scores),
        "clips": scores,
    }
    (out_dir / "evaluation.json").write_text(json.dumps(report, indent=1) + "\n")
    (out_dir / "evaluation.md").write_text(markdown_report(report))
    return report
