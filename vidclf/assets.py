"""Where the bundled files are: the default config, the default model and the demo clip.

In a checkout (or an editable install) they are the project's own files (``config.yaml``,
``models/``). A wheel carries copies of them inside the package, in ``vidclf/_bundled/``
with the same relative layout (``setup.py`` puts them there), so the relative paths in the
bundled ``config.yaml`` stay right and ``vidclf run`` works from any folder.

Usage::

    from vidclf.assets import DEFAULT_CONFIG, installed
    DEFAULT_CONFIG          # .../config.yaml
"""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
BUNDLED_DIR = PACKAGE_DIR / "_bundled"


def installed() -> bool:
    """True when running from an installed wheel (bundled copies), False in a checkout."""
    return (BUNDLED_DIR / "config.yaml").is_file()


def assets_root() -> Path:
    """The folder that holds ``config.yaml`` and ``models/``."""
    return BUNDLED_DIR if installed() else PACKAGE_DIR.parent


DEFAULT_CONFIG = assets_root() / "config.yaml"
