"""Publish label changes to an MQTT broker, with Frigate-like topics (paho-mqtt).

Topics (``prefix`` = ``events.mqtt_topic``, ``name`` = the stream's name reduced to
``[a-z0-9_-]``, so a file called ``court#1.mkv`` or a URL never makes a bad or secret topic)::

    <prefix>/available        "online" while running, "offline" after (retained; "offline"
                              is also the broker's last will if the process dies)
    <prefix>/<name>/label     the label shown now (retained: a new subscriber sees it at once)
    <prefix>/events           every segment start / end as JSON (QoS 1)
    <prefix>/<name>/attributes  confidence, top-k and segment id of the label shown (retained;
                              on each label change and at most every few seconds)

With Home Assistant discovery on (``events.mqtt_discovery``), a retained config at
``homeassistant/sensor/vidclf_<name>/config`` makes each stream a sensor whose state is the
label, with the attributes above and ``<prefix>/available`` as its availability.

The broker address is ``[mqtt[s]://][user[:password]@]host[:port]``: ``mqtts://`` is TLS (port
8883 by default; ``events.mqtt_ca`` names the CA file, else the system's CAs are trusted);
``VIDCLF_MQTT_PASSWORD`` in the environment gives the password without putting it on a
command line. paho's network loop runs
on its own thread and ``publish`` only queues the message, so a slow or absent broker never
blocks the pipeline. While the broker is away (down at start, restarting), paho keeps the
QoS 1 messages in its bounded queue and sends them when it has reconnected by itself;
messages beyond the queue are counted as dropped. Deliveries are counted from the broker's
acknowledgements (``on_publish``), never from a message's state, which paho reports by raising
once the connection is gone.

Usage::

    sink = MqttSink("mqtts://cam@broker.lan", prefix="vidclf", name="court1", ca="ca.pem", discovery="homeassistant")
    sink.on_segment(event)
    sink.close()
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import re
import threading
import time

from vidclf.core.records import FrameResult, SegmentEvent, iso_time
from vidclf.core.states import EventKind
from vidclf.errors import VidclfError
from vidclf.sinks.events import Sink
from vidclf.sinks.network import parse_host_port

log = logging.getLogger("vidclf")

MAX_QUEUED = 1000
CLOSE_GRACE_S = 3.0
PASSWORD_ENV = "VIDCLF_MQTT_PASSWORD"
ATTRIBUTES_EVERY_S = 5.0  # confidence drifts within a label: refreshed this often at most


def topic_slug(name: str) -> str:
    """``name`` as one topic level: lower-case letters, digits, ``_`` and ``-`` only."""
    return re.sub(r"[^a-z0-9_-]+", "_", str(name).lower()).strip("_") or "stream"


def check_topic_prefix(prefix: str) -> str:
    """A topic prefix may not hold MQTT wildcards (``#``, ``+``) or be empty."""
    cleaned = prefix.strip("/")
    if not cleaned or any(c in cleaned for c in "#+\0") or "//" in cleaned:
        raise VidclfError(f"events.mqtt_topic must be a topic prefix without '#', '+' or empty levels, got {prefix[:60]!r}")
    return cleaned


def check_broker(address: str, ca: str | None = None) -> tuple[str, int, str | None, str | None, bool]:
    """The broker's ``(host, port, username, password, tls)`` (port 1883, or 8883 for
    ``mqtts://``, when not given); paho-mqtt must be installed and a CA file readable."""
    tls = address.startswith("mqtts://")
    text = address.removeprefix("mqtts://").removeprefix("mqtt://")
    user = password = None
    if "@" in text:
        userinfo, _, text = text.rpartition("@")
        user, _, password = userinfo.partition(":")
        password = password or None
    password = os.environ.get(PASSWORD_ENV) or password
    host, port = parse_host_port(text, "events.mqtt", default_port=8883 if tls else 1883, min_port=1, example="user@broker:1883")
    if importlib.util.find_spec("paho") is None:
        raise VidclfError("events.mqtt needs paho-mqtt: pip install 'vidclf[mqtt]'")
    if ca is not None and not os.path.isfile(ca):
        raise VidclfError(f"events.mqtt_ca: no such CA file: {ca}")
    return host, port, user or None, password, tls


class MqttSink(Sink):
    output_name = "MQTT"

    def __init__(
        self,
        address: str,
        prefix: str = "vidclf",
        name: str = "stream",
        ca: str | None = None,
        discovery: str | None = None,
        shown_name: str | None = None,
    ):
        host, port, user, password, tls = check_broker(address, ca)
        import paho.mqtt.client as mqtt

        self.prefix, self.name = check_topic_prefix(prefix), topic_slug(name)
        self.discovery = check_topic_prefix(discovery) if discovery else None  # Home Assistant's prefix
        self.shown_name = shown_name or name
        self._attributes_label: str | None = None
        self._attributes_at = 0.0
        self.dropped = 0  # the bounded queue was full (a long broker outage)
        # every message goes through _publish and the broker acknowledges each once (on_publish):
        # the two counts tell how many are still on their way
        self._queued = self._acked = 0
        self._lock = threading.Lock()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"vidclf-{self.name}-{time.monotonic_ns() % 10**9}")
        self.client.max_queued_messages_set(MAX_QUEUED)
        self.client.reconnect_delay_set(min_delay=1, max_delay=5)  # a restarted broker is found within seconds
        if user:
            self.client.username_pw_set(user, password)
        if tls:
            self.client.tls_set(ca_certs=ca)  # the broker's certificate and host name are checked
        self.client.will_set(f"{self.prefix}/available", "offline", qos=1, retain=True)
        self.client.on_connect = self._on_connect
        self.client.on_connect_fail = self._on_connect_fail
        self._where = f"{'mqtts' if tls else 'mqtt'}://{host}:{port}"
        self._failed_connects = 0
        self.client.on_publish = self._on_publish
        self.client.connect_async(host, port, keepalive=30)
        self.client.loop_start()

    def _on_connect(self, client, _userdata, _flags, reason_code, _properties=None) -> None:
        if reason_code == 0:
            self._publish(f"{self.prefix}/available", "online", retain=True)
            if self.discovery:
                self._publish(self.discovery_topic, json.dumps(self.discovery_config()), retain=True)
        else:
            log.warning("mqtt: broker refused the connection (%s)", reason_code)

    def _on_connect_fail(self, _client, _userdata) -> None:
        self._failed_connects += 1
        if self._failed_connects == 1:  # paho retries every 1-5 s; once is enough to say
            hint = " (is the broker's certificate signed by events.mqtt_ca?)" if self._where.startswith("mqtts") else ""
            log.warning("mqtt: cannot connect to the broker at %s%s; retrying", self._where, hint)

    def _on_publish(self, _client, _userdata, _mid, _reason_code=None, _properties=None) -> None:
        with self._lock:
            self._acked += 1

    def _publish(self, topic: str, payload: str, retain: bool = False) -> None:
        import paho.mqtt.client as mqtt

        # never call paho while holding self._lock: paho calls _on_publish holding its own lock
        info = self.client.publish(topic, payload, qos=1, retain=retain)
        if info.rc == mqtt.MQTT_ERR_QUEUE_SIZE:
            self.dropped += 1
        elif info.rc in (mqtt.MQTT_ERR_SUCCESS, mqtt.MQTT_ERR_NO_CONN):  # NO_CONN: queued, sent on reconnect
            with self._lock:
                self._queued += 1

    @property
    def unacknowledged(self) -> int:
        with self._lock:  # an acknowledgement can come before publish() has returned: never below 0
            return max(0, self._queued - self._acked)

    @property
    def discovery_topic(self) -> str:
        return f"{self.discovery}/sensor/vidclf_{self.name}/config"

    def discovery_config(self) -> dict:
        """Home Assistant's MQTT discovery payload: one sensor, state = the label shown."""
        return {
            "name": f"vidclf {self.shown_name}",
            "unique_id": f"vidclf_{self.name}",
            "object_id": f"vidclf_{self.name}",
            "icon": "mdi:video-check",
            "state_topic": f"{self.prefix}/{self.name}/label",
            "json_attributes_topic": f"{self.prefix}/{self.name}/attributes",
            "availability_topic": f"{self.prefix}/available",
            "payload_available": "online",
            "payload_not_available": "offline",
            "device": {"identifiers": [f"vidclf_{self.name}"], "name": f"vidclf {self.shown_name}", "manufacturer": "vidclf"},
        }

    def on_frame(self, result: FrameResult) -> None:
        now = time.monotonic()
        if result.label == self._attributes_label and now - self._attributes_at < ATTRIBUTES_EVERY_S:
            return
        self._attributes_label, self._attributes_at = result.label, now
        attributes = {
            "confidence": round(result.confidence, 4),
            "top_k": {name: round(p, 4) for name, p in result.top_k},
            "wall_time": iso_time(result.wall_time),
        }
        self._publish(f"{self.prefix}/{self.name}/attributes", json.dumps(attributes), retain=True)

    def on_segment(self, event: SegmentEvent) -> None:
        if event.kind is EventKind.START:
            self._publish(f"{self.prefix}/{self.name}/label", event.label, retain=True)
        self._publish(f"{self.prefix}/events", json.dumps({**event.as_dict(), "camera": self.name}))

    def close(self) -> None:
        self._publish(f"{self.prefix}/available", "offline", retain=True)
        deadline = time.monotonic() + CLOSE_GRACE_S
        while self.unacknowledged and time.monotonic() < deadline:  # let queued messages go out, for a bounded time
            time.sleep(0.02)
        if self.unacknowledged or self.dropped:
            unsent, dropped = self.unacknowledged, self.dropped
            log.warning("mqtt: %d messages not delivered to the broker (%d dropped: queue full)", unsent, dropped)
        self.client.disconnect()
        self.client.loop_stop()
