#!/usr/bin/env python3
"""Train a classifier on a folder of class folders: the same as ``vidclf train``.

    python3 train.py --classes football,tennis,weight_lifting --output-dir runs/sports3
    python3 train.py --help                             # every flag, with its default
"""

import sys

from vidclf.cli.main import command_main

if __name__ == "__main__":
    sys.exit(command_main("train", prog="train.py"))
