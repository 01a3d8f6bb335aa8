"""Write docs/configuration.md from the config's dataclass fields (the one place an option is declared).

    python3 tools/config_reference.py            # rewrite docs/configuration.md
    python3 tools/config_reference.py --check    # exit 1 if it is out of date (the tests run this)
"""

from __future__ import annotations

import dataclasses
import sys
import typing
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from vidclf.config import Config  # noqa: E402

TARGET = ROOT / "docs" / "configuration.md"
INTRO = """# Configuration reference

Every key of `config.yaml`, generated from the dataclass fields in `vidclf/config.py`
(`python3 tools/config_reference.py`; a test fails when this page is out of date). A key is
set in a config file (`--config my.yaml`; relative paths there are relative to the file), by
its flag where it has one, or by `--set section.key=VALUE` on `run`, `batch`, `evaluate` and
`train` (the value is read as YAML; `--set smoothing.class_thresholds.basketball=0.4` adds one
entry to a mapping). Every bad key or value of a file or the command line is reported at once,
in one line. The shipped `config.yaml` explains the reasons behind the defaults.
"""


def _shown(value: object) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    return '`""`' if value == "" else f"`{value}`"


def _limits(meta: typing.Mapping) -> str:
    if meta.get("choices"):
        return " / ".join(f"`{c}`" for c in meta["choices"])
    low, high = meta.get("min"), meta.get("max")
    if low is None and high is None:
        return ""
    return f"{low if low is not None else ''} – {high if high is not None else ''}".strip()


def reference() -> str:
    lines = [INTRO]
    defaults = Config()
    for section in dataclasses.fields(Config):
        value = getattr(defaults, section.name)
        if isinstance(value, list):  # sources: a list of StreamConfig entries
            cls = typing.get_args(typing.get_type_hints(Config)[section.name])[0]
            lines += [f"## `{section.name}:` (a list; each entry)", ""]
            instance = None
        else:
            cls, instance = type(value), value
            lines += [f"## `{section.name}:`", ""]
        lines += ["| key | default | allowed | flag | what it does |", "|---|---|---|---|---|"]
        for f in dataclasses.fields(cls):
            if instance is not None:
                default = getattr(instance, f.name)
            else:
                default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
            flags = ", ".join(f"`{flag}`" for flag in f.metadata.get("flags", ()))
            help_text = f.metadata.get("help", "").replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")
            lines.append(f"| `{f.name}` | {_shown(default)} | {_limits(f.metadata)} | {flags} | {help_text} |")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def main() -> int:
    text = reference()
    if "--check" in sys.argv:
        if not TARGET.is_file() or TARGET.read_text() != text:
            print(f"{TARGET.relative_to(ROOT)} is out of date: run python3 tools/config_reference.py", file=sys.stderr)
            return 1
        return 0
    TARGET.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
