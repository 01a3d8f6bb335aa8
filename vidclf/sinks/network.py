"""``host:port`` settings of the network sinks (MQTT broker, browser view), parsed one way.

Usage::

    host, port = parse_host_port("127.0.0.1:8080", "serve.address")
    host, port = parse_host_port("broker.local", "events.mqtt", default_port=1883, min_port=1)
"""

from __future__ import annotations

from vidclf.errors import VidclfError


def parse_host_port(
    text: str, key: str, default_port: int | None = None, min_port: int = 0, example: str = ""
) -> tuple[str, int]:
    """``(host, port)`` from ``host:port`` (``[v6]:port`` too); without a port, ``default_port``
    if there is one. A bad value is one error naming ``key``."""
    host, sep, port = text.rpartition(":")
    if not sep and default_port is not None:
        host, port = text, str(default_port)
    host = host.strip("[]")
    if not host or not port.isdigit() or not min_port <= int(port) < 65536:
        raise VidclfError(f"{key} must be host:port{f' (e.g. {example})' if example else ''}, got {text[:60]!r}")
    return host, int(port)
