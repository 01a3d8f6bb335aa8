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
import signal
import threading
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

from vidclf.archive.jobs import VideoJob, VideoResult, classify_video
from vidclf.config import Config
from vidclf.errors import VidclfError

STOP_POLL_S = 0.2
INTERRUPT_GRACE_S = 10.0  # for the running videos to finalise their results after a stop


_BATCH_STOP = None  # in a pool process: the parent's stop event (a multiprocessing Event)


def _worker_start(stop) -> None:
    """In each pool process: quiet libraries; a terminal's Ctrl-C (sent to the whole process
    group) is the parent's to decide, so it is ignored here outside a video; the parent's
    ``stop`` ends the running video cleanly (:func:`classify_video` watches it)."""
    global _BATCH_STOP
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("OPENCV_LOG_LEVEL", "ERROR")
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _BATCH_STOP = stop


def _classify_in_worker(job: VideoJob, cfg: Config) -> VideoResult:
    return classify_video(job, cfg, _BATCH_STOP)


def run_local(jobs: list[VideoJob], cfg: Config, workers: int, stop: threading.Event | None = None) -> Iterator[VideoResult]:
    """A pool of ``workers`` processes (spawned: no inherited threads or model state); one
    model per process, loaded by its first video. ``workers=1`` runs in this process.

    ``stop`` (set by a signal handler): no further video starts, the running ones are
    interrupted and their results (``interrupted``) still come out."""
    stop = stop or threading.Event()
    if workers <= 1:
        for job in jobs:
            if stop.is_set():
                return
            result = classify_video(job, cfg)
            yield result
            if result.status == "interrupted":  # the signal reached the video's own pipeline
                stop.set()
                return
        return
    context = multiprocessing.get_context("spawn")
    worker_stop = context.Event()
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_worker_start, initargs=(worker_stop,))
    futures = {pool.submit(_classify_in_worker, job, cfg) for job in jobs}
    try:
        while futures and not stop.is_set():
            done, futures = wait(futures, timeout=STOP_POLL_S, return_when=FIRST_COMPLETED)
            for future in done:
                yield future.result()
        if futures:  # stopped: cancel what has not started, let the running videos finalise
            worker_stop.set()
            for future in futures:
                future.cancel()
            running = {f for f in futures if not f.cancelled()}
            done, _ = wait(running, timeout=INTERRUPT_GRACE_S)
            for future in done:
                yield future.result()
    finally:
        worker_stop.set()
        pool.shutdown(wait=False, cancel_futures=True)


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
