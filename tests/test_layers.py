"""The package's layers: each module imports only from its own folder or from layers below.

core, errors, redact, assets (the ground floor) -> config -> runtime, plots -> streaming
stages, sinks, training (side by side: none imports another) -> pipeline (the orchestrator)
-> api, archive, evaluation -> cli. A test keeps it so: an import that runs back up, or a
stage that reaches into the sinks, fails here with the file and the line."""

import ast
from pathlib import Path

from conftest import ROOT

PACKAGE = ROOT / "vidclf"
RANKS = {
    "core": 0, "errors": 0, "redact": 0, "assets": 0,
    "config": 1,
    "runtime": 2, "plots": 2,
    "streaming": 3, "sinks": 3, "training": 3,
    "pipeline": 4,
    "api": 5, "archive": 5, "evaluation": 5, "review": 5,
    "cli": 6, "__main__": 7,
}  # fmt: skip


def _room(module: str) -> str:
    """``vidclf.sinks.mqtt`` -> ``sinks``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(), str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
        elif isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
    return [(line, name) for line, name in found if name.startswith("vidclf.")]


def test_no_import_runs_back_up_or_across():
    problems = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE)
        if relative == Path("__init__.py"):
            continue  # the package's face hands on the API's names
        room = relative.parts[0].removesuffix(".py")
        assert room in RANKS, f"{relative}: a new room; give it a layer in RANKS"
        for line, module in _imports(path):
            target = _room(module)
            if target == room:
                continue
            if RANKS[target] >= RANKS[room]:
                problems.append(f"vidclf/{relative}:{line} imports {module} ({room} may not import {target})")
    assert not problems, "\n".join(problems)


def test_the_layer_check_sees_a_bad_import(tmp_path):
    """The check can fail: a stage importing a sink is reported."""
    stage = tmp_path / "stage.py"
    stage.write_text("from vidclf.sinks.mqtt import MqttSink\nimport vidclf.core.messages\n")
    assert [(target, RANKS[_room(m)] >= RANKS["streaming"]) for target, m in _imports(stage)] == [(1, True), (2, False)]
