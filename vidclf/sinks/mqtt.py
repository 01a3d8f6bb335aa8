"""Publish label changes to an MQTT broker, with Frigate-like topics (paho-mqtt).

Topics (``prefix`` = ``events.mqtt_topic``, ``name`` = the stream's name)::

    <prefix>/available        "online" while running, "offline" after (retained; "offline"
                              is also the broker's last will if the process dies)
    <prefix>/<name>/label     the label shown now (retained: a new subscriber sees it at once)
    <prefix>/events           every segment start / end as JSON (QoS 1)

paho's network loop runs on its own thread and ``publish`` only queues the message (the queue
is bounded), so a slow or absent broker never blocks the pipeline; paho reconnects by itself.

Usage::

    sink = MqttSink("127.0.0.1:1883", prefix="vidclf", name="court1")
    sink.on_segment(event)
    sink.close()
"""

from __future__ import annotations

import importlib.util
import json
import logging
import time

from vidclf.errors import VidclfError
from vidclf.sinks.events import SegmentEvent, Sink
from vidclf.sinks.network import parse_host_port

log = logging.getLogger("vidclf")

MAX_QUEUED = 1000
CONNECT_WAIT_S = 2.0
CLOSE_GRACE_S = 3.0


def check_broker(address: str) -> tuple[str, int]:
    """The broker's ``(host, port)`` (port 1883 when not given); paho-mqtt must be installed."""
    host_port = parse_host_port(address, "events.mqtt", default_port=1883, min_port=1)
    if importlib.util.find_spec("paho") is None:
        raise VidclfError("events.mqtt needs paho-mqtt: pip install 'vidclf[mqtt]'")
    return host_port


class MqttSink(Sink):
    def __init__(self, address: str, prefix: str = "vidclf", name: str = "stream"):
        host, port = check_broker(address)
        import paho.mqtt.client as mqtt

        self.prefix, self.name = prefix.rstrip("/"), name
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"vidclf-{name}-{time.monotonic_ns() % 10**9}")
        self.client.max_queued_messages_set(MAX_QUEUED)
        self.client.will_set(f"{self.prefix}/available", "offline", qos=1, retain=True)
        self.client.on_connect = self._on_connect
        self.client.connect_async(host, port, keepalive=30)
        self.client.loop_start()
        self._pending: list = []

    def _on_connect(self, client, _userdata, _flags, reason_code, _properties=None) -> None:
        if reason_code == 0:
            client.publish(f"{self.prefix}/available", "online", qos=1, retain=True)
        else:
            log.warning("mqtt: broker refused the connection (%s)", reason_code)

    def on_segment(self, event: SegmentEvent) -> None:
        if event.kind == "start":
            self.client.publish(f"{self.prefix}/{self.name}/label", event.label, qos=1, retain=True)
        info = self.client.publish(f"{self.prefix}/events", json.dumps({**event.as_dict(), "camera": self.name}), qos=1)
        self._pending.append(info)
        self._pending = [i for i in self._pending if not i.is_published()][-MAX_QUEUED:]

    def close(self) -> None:
        offline = self.client.publish(f"{self.prefix}/available", "offline", qos=1, retain=True)
        deadline = time.monotonic() + CLOSE_GRACE_S
        for info in [*self._pending, offline]:  # let queued messages go out, for a bounded time
            while not info.is_published() and time.monotonic() < deadline:
                time.sleep(0.02)
        unsent = sum(not i.is_published() for i in self._pending)
        if unsent:
            log.warning("mqtt: %d events not delivered to the broker", unsent)
        self.client.disconnect()
        self.client.loop_stop()
