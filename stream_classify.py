#!/usr/bin/env python3
"""Classify a webcam, an RTSP/HTTP stream or a video file: the same as ``vidclf run``.

    python3 stream_classify.py                          # bundled demo clip + model
    python3 stream_classify.py --source 0               # webcam 0
    python3 stream_classify.py --help                   # every flag, with its default
"""

import sys

from vidclf.cli.main import command_main

if __name__ == "__main__":
    sys.exit(command_main("run", prog="stream_classify.py"))
