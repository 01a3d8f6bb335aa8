"""``vidclf batch``: classify a whole archive of video files, as fast as possible.

    vidclf batch archive/ --out runs/archive                     # every video under archive/
    vidclf batch a.mp4 b.mp4 @more.txt --out runs/x --workers 2  # files, and a list file
    vidclf batch archive/ --out /shared/x --engine ray --address ray://head:10001

Per video: <out>/<name>.jsonl (per-frame results), <name>.jsonl.summary.json (segments) and
<name>.done.json; then <out>/batch_summary.json and a table. Resumable: videos already done
are skipped (--redo classifies them again). A video that cannot be read is reported and
skipped; the batch goes on. Exit status 0 when every video was classified, 1 when some failed.
"""

from __future__ import annotations

import argparse

from vidclf.cli.common import add_common_flags, add_config_flags, add_set_flag, config_overrides


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_common_flags(p)
    p.add_argument("inputs", nargs="+", help="video files, folders (searched recursively) or @list.txt files")
    p.add_argument("--out", required=True, help="output folder (shared storage for a multi-node Ray cluster)")
    p.add_argument("--workers", type=int, default=0, help="videos classified at once (default: 0 = one per 2 CPU cores)")
    p.add_argument("--engine", choices=("local", "ray"), default="local", help="local process pool or Ray (default: local)")
    p.add_argument("--address", help="Ray cluster address (default: start a local Ray instance)")
    p.add_argument("--redo", action="store_true", help="classify videos again even if an earlier run finished them")
    add_config_flags(p, groups=("model", "labels", "performance"))
    add_set_flag(p)


def run(p: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    import os

    from vidclf.archive.batch import run_batch
    from vidclf.config import load_config, override
    from vidclf.errors import VidclfError

    overrides = config_overrides(p, args)
    cores = os.cpu_count() or 2
    workers = args.workers or max(1, cores // 2)
    if workers < 1:
        raise VidclfError(f"--workers must be >= 1, got {workers}")
    if overrides.get("model.threads") is None:  # share the cores between the workers
        overrides["model.threads"] = max(1, cores // workers)
    cfg = override(load_config(args.config), overrides)
    report = run_batch(cfg, args.inputs, args.out, workers, args.engine, args.address, args.redo, args.quiet)
    if report["interrupted"]:  # as `vidclf run`: Ctrl-C is 130, another signal a clean stop
        return 130 if report["interrupted"] == "SIGINT" else 0
    return 0 if report["failed"] == 0 else 1
