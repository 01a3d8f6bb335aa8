"""Run a batch's jobs: a local process pool, or Ray tasks on a cluster. Both call the same
:func:`~vidclf.archive.jobs.classify_video`, so their results are identical; both yield
results as videos finish (for the progress bar), in any order.

Usage::

    for result in run_local(jobs, cfg, workers=2):
        print(result.name, result.status)
    for result in run_ray(jobs, cfg, workers=2, address="ray://head:10001"):
        ...
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed

from vidclf.archive.jobs import VideoJob, VideoResult, classify_video
from vidclf.config import Config
from vidclf.errors import VidclfError


def _quiet_worker() -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("OPENCV_LOG_LEVEL", "ERROR")


def run_local(jobs: list[VideoJob], cfg: Config, workers: int) -> Iterator[VideoResult]:
    """A pool of ``workers`` processes (spawned: no inherited threads or model state); one
    model per process, loaded by its first video. ``workers=1`` runs in this process."""
    if workers <= 1:
        for job in jobs:
            yield classify_video(job, cfg)
        return
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_quiet_worker) as pool:
        futures = [pool.submit(classify_video, job, cfg) for job in jobs]
        try:
            for future in as_completed(futures):
                yield future.result()
        finally:  # Ctrl-C or an early stop: videos not started yet are not started
            for future in futures:
                future.cancel()


def run_ray(jobs: list[VideoJob], cfg: Config, workers: int, address: str | None = None) -> Iterator[VideoResult]:
    """One Ray task per video, at most ``workers`` at a time (each asks for
    ``model.threads`` CPUs). ``address``: a running cluster (``auto``, ``ray://host:10001``,
    ``host:6379``); None starts a local Ray instance for this batch. Results are written by
    the workers to ``out_dir``, which must be a folder every node can reach (shared storage)."""
    try:
        import ray
    except ImportError:
        raise VidclfError("--engine ray needs Ray: pip install 'ray[default]'") from None
    started_here = not ray.is_initialized()
    if started_here:
        # a local instance stays on the loopback interface: nothing of it is reachable from outside
        local = {} if address else {"_node_ip_address": "127.0.0.1"}
        try:
            ray.init(address=address, include_dashboard=False, logging_level="ERROR", log_to_driver=False, **local)
        except Exception as exc:  # noqa: BLE001  Ray raises ConnectionError, RuntimeError, ...
            raise VidclfError(f"cannot reach the Ray cluster at {address or 'a new local instance'}: {exc}") from None
    try:
        task = ray.remote(num_cpus=cfg.model.threads)(classify_video)
        pending, waiting = list(jobs), []
        while pending or waiting:
            while pending and len(waiting) < workers:  # bounded: a 10,000-video archive is not submitted at once
                waiting.append(task.remote(pending.pop(0), cfg))
            done, waiting = ray.wait(waiting, num_returns=1)
            yield ray.get(done[0])
    finally:
        if started_here:
            ray.shutdown()
