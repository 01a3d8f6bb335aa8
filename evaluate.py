#!/usr/bin/env python3
"""Score a model and its smoothing settings on labelled clips: the same as ``vidclf evaluate``.

    python3 evaluate.py                                 # bundled model on the config's clips
    python3 evaluate.py --help                          # every flag, with its default
"""

import sys

from vidclf.cli.main import command_main

if __name__ == "__main__":
    sys.exit(command_main("evaluate", prog="evaluate.py"))
