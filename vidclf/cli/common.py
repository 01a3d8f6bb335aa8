"""Shared command-line plumbing: flags that override config keys (with the config's value
shown as the default in ``--help``), logging for ``-v``/``-q``, silencing native libraries'
chatter, one-line errors and exit codes.

Usage (in a subcommand)::

    from vidclf.cli.common import config_flag, config_overrides
    config_flag(parser, "--size", key="smoothing.size", type=int, help="K, predictions averaged")
    cfg = override(load_config(args.config), config_overrides(parser, args))
"""

from __future__ import annotations

import argparse
import functools
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

log = logging.getLogger("vidclf")


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Keeps the description's layout and shows each config-backed flag's default: the
    value the bundled config gives it (flags default to None so that a config file applies)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        key = getattr(action, "config_key", None)
        if key and "default:" not in text:
            value = _config_default(key)
            text += f" (default: {value}; config {key})"
        return text


@functools.cache
def _default_config() -> Any:
    from vidclf.config import Config, load_config

    try:
        return load_config()
    except Exception:  # a broken config file must not break --help
        return Config()


def _config_default(key: str) -> str:
    from vidclf.assets import assets_root

    section, _, name = key.partition(".")
    value = getattr(getattr(_default_config(), section), name)
    if isinstance(value, str) and os.path.isabs(value):
        try:  # bundled files: show them as the config file names them
            value = str(Path(value).relative_to(assets_root()))
        except ValueError:
            pass
    if isinstance(value, bool):
        return "on" if value else "off"
    return "none" if value is None else str(value).replace("%", "%%")


def config_flag(p: argparse.ArgumentParser, *names: str, key: str, **kwargs: Any) -> argparse.Action:
    """``p.add_argument`` for a flag that overrides the config key ``key`` (None: not given)."""
    kwargs.setdefault("default", None)
    action = p.add_argument(*names, **kwargs)
    action.config_key = key  # type: ignore[attr-defined]
    return action


def config_overrides(p: argparse.ArgumentParser, args: argparse.Namespace) -> dict[str, Any]:
    """The config keys the flags of ``p`` set (None for a flag not given)."""
    values: dict[str, Any] = {}
    for action in p._actions:  # argparse offers no public list of a parser's actions
        key = getattr(action, "config_key", None)
        if key and (values.get(key) is None):
            values[key] = getattr(args, action.dest, None)
    return values


def add_common_flags(p: argparse.ArgumentParser) -> None:
    """``--config`` and the verbosity flags, on every subcommand."""
    p.add_argument("--config", help="config file (default: the bundled config.yaml)")
    p.add_argument("-v", "--verbose", action="count", default=0, help="more detail; -v also shows native libraries' messages")
    p.add_argument("-q", "--quiet", action="store_true", help="errors only: no summary, warnings or progress")


def add_model_flags(p: argparse.ArgumentParser) -> None:
    """What classifies and how predictions become labels: shared by ``run`` and
    ``evaluate`` so that an evaluated setting runs as is."""
    config_flag(p, "--model", "-m", key="model.path", help="model file (.tflite, .keras or .onnx)")
    config_flag(p, "--labels", "-l", key="model.labels", help="labels JSON (none: <model>.labels.json)")
    config_flag(p, "--threads", key="model.threads", type=int, help="CPU threads for inference")
    config_flag(
        p, "--input-fit", key="model.input_fit", choices=("squash", "crop"), help="how a frame meets the model's square input"
    )
    config_flag(p, "--size", key="smoothing.size", type=int, help="K, predictions in the rolling average")
    config_flag(p, "--smoothing", key="smoothing.mode", choices=("mean", "ema", "none"), help="smoothing mode")
    config_flag(p, "--ema-alpha", key="smoothing.ema_alpha", type=float, help="weight of the newest prediction in ema mode")
    config_flag(
        p,
        "--uncertain-below",
        key="smoothing.uncertain_below",
        type=float,
        help="say 'uncertain' below this smoothed probability",
    )
    config_flag(
        p, "--hysteresis", key="smoothing.hysteresis_s", type=float, help="seconds a new label must lead before it is shown"
    )
    config_flag(p, "--min-segment", key="smoothing.min_segment_s", type=float, help="seconds a shown label stays at least")
    config_flag(
        p, "--scene-cut", key="smoothing.scene_cut", action=argparse.BooleanOptionalAction, help="restart smoothing at hard cuts"
    )


def quiet_tensorflow() -> None:
    """Ask TensorFlow and OpenCV to keep their start-up chatter to themselves (what still
    reaches the file descriptor is caught by :func:`silence_native_stderr`)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")
    os.environ.setdefault("OPENCV_LOG_LEVEL", "ERROR")


def silence_native_stderr() -> None:
    """Send what native libraries write straight to file descriptor 2 (LiteRT's XNNPACK INFO
    line, oneDNN notices, FFmpeg and OpenCV camera warnings) to /dev/null, while Python's
    ``sys.stderr`` -- our own warnings, errors and tracebacks -- keeps the real stderr.

    Environment variables cannot do this: XNNPACK's line ignores them. ``-v`` skips it.
    """
    try:
        sys.stderr.flush()
        saved = os.dup(2)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)
        os.close(devnull)
    except OSError:  # no usable fd 2 (closed by the caller): nothing to silence
        return
    os.set_inheritable(saved, False)
    sys.stderr = open(saved, "w", buffering=1, encoding=sys.stderr.encoding or "utf-8", errors="backslashreplace", closefd=True)


def configure_logging(verbose: int, quiet: bool) -> None:
    """``vidclf`` logger to stderr: warnings by default, info with -v, debug with -vv, errors with -q."""
    level = logging.ERROR if quiet else logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    handler = _StderrHandler()
    handler.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
    log.handlers[:] = [handler]
    log.setLevel(level)
    log.propagate = False
    logging.addLevelName(logging.WARNING, "warning")
    logging.addLevelName(logging.INFO, "info")
    logging.addLevelName(logging.DEBUG, "debug")


class _StderrHandler(logging.Handler):
    """Writes to whatever ``sys.stderr`` is at the time, through :mod:`vidclf.sinks.terminal`
    (a closed terminal or pipe never raises)."""

    def emit(self, record: logging.LogRecord) -> None:
        from vidclf.sinks.terminal import write_text

        write_text(self.format(record) + "\n", sys.stderr)


def run_main(main: Callable[[], int]) -> int:
    """Call ``main``; turn a :class:`VidclfError` into ``error: ...`` on stderr and exit code 2."""
    from vidclf.errors import VidclfError
    from vidclf.redact import redact
    from vidclf.sinks.terminal import write_text

    try:
        return main()
    except VidclfError as exc:
        write_text(f"error: {redact(str(exc))}\n", sys.stderr)  # a closed stderr still gets exit 2
        return EXIT_USAGE
    except KeyboardInterrupt:
        write_text("interrupted\n", sys.stderr)
        return EXIT_INTERRUPTED
