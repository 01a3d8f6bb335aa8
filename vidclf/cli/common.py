"""Shared command-line plumbing: flags that override config keys (with the config's value
shown as the default in ``--help``), logging for ``-v``/``-q``, silencing native libraries'
chatter, one-line errors and exit codes.

Usage (in a subcommand)::

    from vidclf.cli.common import add_config_flags, add_set_flag, config_overrides
    add_config_flags(parser, groups=("model", "labels"))   # generated from the config's fields
    add_set_flag(parser)                                    # --set KEY=VALUE for any key
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
    """The config keys the flags of ``p`` set (None for a flag not given), then ``--set``."""
    values: dict[str, Any] = {}
    for action in p._actions:  # argparse offers no public list of a parser's actions
        key = getattr(action, "config_key", None)
        if key and (values.get(key) is None):
            values[key] = getattr(args, action.dest, None)
    for key, value in set_overrides(getattr(args, "set", None) or []).items():
        if isinstance(value, dict) and key in values:
            continue
        values[key] = value
    return values


def add_common_flags(p: argparse.ArgumentParser) -> None:
    """``--config`` and the verbosity flags, on every subcommand."""
    p.add_argument("--config", help="config file (default: the bundled config.yaml)")
    p.add_argument("-v", "--verbose", action="count", default=0, help="more detail; -v also shows native libraries' messages")
    p.add_argument("-q", "--quiet", action="store_true", help="errors only: no summary, warnings or progress")
    p.add_argument(
        "--log-format",
        choices=("auto", "text", "json"),
        default="auto",
        help="log lines: text with a UTC timestamp, or one JSON object each (auto: plain on a terminal, "
        "timestamped text otherwise, as a service's log wants)",
    )


# --help lists the generated flags in these groups, in this order
FLAG_GROUPS = {
    "source": "source",
    "model": "model",
    "labels": "labels (smoothing and decoding)",
    "outputs": "outputs",
    "events": "events",
    "live": "live sources",
    "performance": "performance",
    "training": "training",
    "evaluation": "evaluation",
}


def config_fields(groups: tuple[str, ...] = (), keys: tuple[str, ...] = ()) -> list[tuple[str, Any, Any]]:
    """``(dotted key, dataclass field, annotated type)`` of every config field that declares a
    flag and is in one of ``groups`` or named in ``keys``."""
    import dataclasses
    import typing

    from vidclf.config import Config

    found = []
    for section in dataclasses.fields(Config):
        cls = typing.get_type_hints(Config)[section.name]
        if not dataclasses.is_dataclass(cls):
            continue
        hints = typing.get_type_hints(cls)
        for f in dataclasses.fields(cls):
            key = f"{section.name}.{f.name}"
            if f.metadata.get("flags") and (f.metadata.get("group") in groups or key in keys):
                found.append((key, f, hints[f.name]))
    return found


def _scalar_type(tp: Any) -> Any:
    """The type argparse converts a flag's text to: lists stay text (comma-separated)."""
    import types
    import typing

    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        tp = next(a for a in typing.get_args(tp) if a is not type(None))
    return tp if tp in (int, float, bool) else str


def flag_group(p: argparse.ArgumentParser, group: str) -> argparse._ArgumentGroup:
    """The argument group ``--help`` lists a topic's flags under (made on first use)."""
    title = FLAG_GROUPS.get(group, group)
    for existing in p._action_groups:  # argparse has no public lookup of a parser's groups
        if existing.title == title:
            return existing
    return p.add_argument_group(title)


def add_config_flags(p: argparse.ArgumentParser, groups: tuple[str, ...] = (), keys: tuple[str, ...] = ()) -> None:
    """The flags of the config fields in ``groups`` (and of ``keys``), generated from the
    fields' declarations (:func:`vidclf.config._opt`): name, type, choices and help, listed
    under one heading per group."""
    fields = config_fields(groups, keys)
    order = list(FLAG_GROUPS)
    fields.sort(key=lambda item: order.index(item[1].metadata["group"]) if item[1].metadata["group"] in order else len(order))
    for key, f, tp in fields:
        section = flag_group(p, f.metadata.get("group") or "options")
        kind = _scalar_type(tp)
        kwargs: dict[str, Any] = {"help": f.metadata["help"], "dest": key.replace(".", "__")}
        if kind is bool:
            kwargs["action"] = argparse.BooleanOptionalAction
        else:
            kwargs["type"] = kind
            if f.metadata.get("choices"):
                kwargs["choices"] = f.metadata["choices"]
            else:
                kwargs["metavar"] = key.rpartition(".")[2].upper()
        config_flag(section, *f.metadata["flags"], key=key, **kwargs)


def add_set_flag(p: argparse.ArgumentParser) -> None:
    """``--set KEY=VALUE`` for any config key (repeatable; the value is read as YAML)."""
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="set any config key, e.g. --set smoothing.class_thresholds.basketball=0.4 (repeatable; the value is YAML)",
    )


def set_overrides(values: list[str]) -> dict[str, Any]:
    """The ``--set`` values as dotted keys; a third level sets one entry of a mapping."""
    import yaml

    from vidclf.errors import VidclfError

    out: dict[str, Any] = {}
    for item in values:
        key, eq, text = item.partition("=")
        if not eq or not key.strip():
            raise VidclfError(f"--set wants KEY=VALUE, got {item[:80]!r}")
        try:
            value = yaml.safe_load(text) if text.strip() else None
        except yaml.YAMLError:
            raise VidclfError(f"--set {key}: cannot read {text[:80]!r} as a value") from None
        section, _, rest = key.strip().partition(".")
        name, _, entry = rest.partition(".")
        if entry:  # smoothing.class_thresholds.basketball=0.4: one entry of a mapping
            mapping = out.setdefault(f"{section}.{name}", {})
            if not isinstance(mapping, dict):
                raise VidclfError(f"--set {key}: {section}.{name} is also set as a whole")
            mapping[entry] = value
        else:
            out[key.strip()] = value
    return out


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


def configure_logging(verbose: int, quiet: bool, log_format: str = "auto") -> None:
    """``vidclf`` logger to stderr: warnings by default, info with -v, debug with -vv, errors
    with -q. On a terminal a line is ``warning: ...``; elsewhere (a service's log, a file) it
    starts with the UTC time, or is one JSON object (``--log-format json``)."""
    level = logging.ERROR if quiet else logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    if log_format == "auto":
        try:
            log_format = "plain" if sys.stderr.isatty() else "text"
        except (AttributeError, ValueError):  # stderr closed or None (started with 2>&-)
            log_format = "text"
    handler = _StderrHandler()
    handler.setFormatter(_JsonFormatter() if log_format == "json" else _TextFormatter(timestamps=log_format == "text"))
    log.handlers[:] = [handler]
    log.setLevel(level)
    log.propagate = False


class _TextFormatter(logging.Formatter):
    """``warning: message``, after the UTC time (ms) when ``timestamps``."""

    LEVELS = {logging.DEBUG: "debug", logging.INFO: "info", logging.WARNING: "warning", logging.ERROR: "error"}

    def __init__(self, timestamps: bool):
        super().__init__()
        self.timestamps = timestamps

    def format(self, record: logging.LogRecord) -> str:
        from vidclf.core.records import iso_time

        line = f"{self.LEVELS.get(record.levelno, record.levelname.lower())}: {record.getMessage()}"
        return f"{iso_time(record.created)} {line}" if self.timestamps else line


class _JsonFormatter(logging.Formatter):
    """One JSON object a line: ``{"time": ..., "level": ..., "message": ...}``."""

    def format(self, record: logging.LogRecord) -> str:
        import json

        from vidclf.core.records import iso_time

        level = _TextFormatter.LEVELS.get(record.levelno, record.levelname.lower())
        return json.dumps({"time": iso_time(record.created), "level": level, "message": record.getMessage()})


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
