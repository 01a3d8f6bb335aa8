#!/usr/bin/python3
"""A real RTSP server on loopback for tests, benchmarks and demos (GStreamer RTSP server).

Serves a folder of JPEG frames (``frame_00000.jpg`` ...) as a live, endlessly looping H.264
stream at a fixed rate. Runs under Debian's system Python, which has the GStreamer bindings
(``python3-gi``, ``gir1.2-gst-rtsp-server-1.0``); the project's own interpreter does not need them.

    /usr/bin/python3 tools/rtsp_server.py --frames DIR --port 8554 --mount /cam --fps 30

Prints ``READY rtsp://127.0.0.1:PORT/MOUNT`` on stdout once it listens. Stops on SIGTERM/SIGINT.
Use `extract_frames` in tests/servers.py (or any tool) to make the JPEG folder from a clip.
"""

import argparse
import signal
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--frames", required=True, help="folder of frame_%%05d.jpg files")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8554)
    p.add_argument("--mount", default="/cam")
    p.add_argument("--fps", type=int, default=30)
    p.add_argument("--bitrate", type=int, default=1500, help="kbit/s")
    args = p.parse_args()

    Gst.init(None)
    launch = (
        f"( multifilesrc location={args.frames}/frame_%05d.jpg loop=true "
        f"caps=image/jpeg,framerate={args.fps}/1 ! jpegdec ! videoconvert ! video/x-raw,format=I420 "
        f"! x264enc tune=zerolatency speed-preset=ultrafast bitrate={args.bitrate} key-int-max={args.fps} "
        f"! rtph264pay name=pay0 pt=96 config-interval=1 )"
    )
    server = GstRtspServer.RTSPServer()
    server.set_address(args.host)
    server.set_service(str(args.port))
    factory = GstRtspServer.RTSPMediaFactory()
    factory.set_launch(launch)
    factory.set_shared(True)  # one live stream for every client, like a camera
    server.get_mount_points().add_factory(args.mount, factory)
    if server.attach(None) == 0:
        print(f"ERROR cannot listen on {args.host}:{args.port}", flush=True)
        return 1
    loop = GLib.MainLoop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, sig, loop.quit)
    print(f"READY rtsp://{args.host}:{args.port}{args.mount}", flush=True)
    loop.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
