"""Build hook: copy the bundled files into the wheel.

The default config, the default model and the demo clip live at the top of the project
(``config.yaml``, ``models/``) where users and the README expect them; a wheel needs them
inside the package. setuptools' package data cannot reach outside the package folder, so
``build_py`` copies them to ``vidclf/_bundled/`` with the same relative layout (the bundled
config's relative paths stay right). Everything else is in pyproject.toml.
"""

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
BUNDLED = [
    "config.yaml",
    "models/sports22.tflite",
    "models/sports22.labels.json",
    "models/sports22.calibration.json",
    "models/MODEL_CARD.md",
    "models/demo/basketball_gym_shooting.mp4",
]


class BuildWithBundledFiles(build_py):
    def run(self) -> None:
        super().run()
        if self.editable_mode:  # an editable install reads the checkout's own files
            return
        target = Path(self.build_lib) / "vidclf" / "_bundled"
        for name in BUNDLED:
            self.mkpath(str((target / name).parent))
            self.copy_file(str(ROOT / name), str(target / name), preserve_mode=False)

    def get_outputs(self, include_bytecode: bool = True) -> list[str]:
        target = Path(self.build_lib) / "vidclf" / "_bundled"
        return super().get_outputs(include_bytecode) + [str(target / name) for name in BUNDLED]


setup(cmdclass={"build_py": BuildWithBundledFiles})
