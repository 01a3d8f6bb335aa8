"""``python -m vidclf`` = the ``vidclf`` command."""

import sys

from vidclf.cli.main import main

sys.exit(main(prog="python -m vidclf"))
