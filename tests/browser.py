"""Real headless Chromium driven over the DevTools protocol, for tests that click and press keys.

Chromium's ``--remote-debugging-pipe`` speaks the protocol on file descriptors 3 (commands in)
and 4 (answers and events out), one JSON message per NUL-terminated chunk. Clicks and key
presses go through ``Input.dispatchMouseEvent`` / ``Input.dispatchKeyEvent``: the browser's own
input path, the same events a person's mouse and keyboard make. (Playwright or Selenium would
bring a driver process and their own browser builds for the five commands used here.)

Usage::

    with Browser() as browser:
        page = browser.open("http://127.0.0.1:8080/")
        page.wait_for("document.body.dataset.pending === '6'")
        page.click('button[data-class="tennis"]')
        page.press("0")
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import threading
import time

import pytest


def chromium_binary() -> str:
    browser = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None)
    if browser is None:
        pytest.fail("Chromium is required for the browser tests (apt: chromium)")
    return browser


class Page:
    """One tab, attached in flat mode: its commands carry the session id."""

    def __init__(self, browser: Browser, session: str):
        self.browser, self.session = browser, session

    def send(self, method: str, **params) -> dict:
        return self.browser.send(method, params, self.session)

    def evaluate(self, expression: str):
        """The expression's value in the page (promises awaited)."""
        answer = self.send("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in answer:
            details = answer["exceptionDetails"]
            raise AssertionError(f"{expression}: {details.get('exception', {}).get('description') or details.get('text')}")
        return answer["result"].get("value")

    def wait_for(self, expression: str, timeout: float = 15.0):
        """Poll until the expression is truthy; its value."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                value, problem = self.evaluate(expression), "false"
            except AssertionError as exc:  # e.g. the element is not there yet
                value, problem = None, str(exc)
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"still {problem} after {timeout} s: {expression}")
            time.sleep(0.1)

    def click(self, selector: str) -> None:
        """A left click in the middle of the element, as a mouse makes it."""
        box = self.wait_for(
            f"(() => {{ const e = document.querySelector({json.dumps(selector)}); if (!e) return null;"
            " const r = e.getBoundingClientRect(); return r.width ? [r.x + r.width / 2, r.y + r.height / 2] : null; })()"
        )
        x, y = box
        self.send("Input.dispatchMouseEvent", type="mouseMoved", x=x, y=y)
        for kind in ("mousePressed", "mouseReleased"):
            self.send("Input.dispatchMouseEvent", type=kind, x=x, y=y, button="left", clickCount=1)

    def press(self, key: str) -> None:
        """One key down and up (a printable key: its text goes with it)."""
        code = ord(key.upper()) if len(key) == 1 else 0
        self.send("Input.dispatchKeyEvent", type="keyDown", key=key, text=key, windowsVirtualKeyCode=code)
        self.send("Input.dispatchKeyEvent", type="keyUp", key=key, windowsVirtualKeyCode=code)


class Browser:
    """A headless Chromium of its own (own profile folder), ended on exit."""

    def __init__(self, width: int = 1280, height: int = 800, timeout: float = 20.0):
        self.timeout = timeout
        self._profile = tempfile.TemporaryDirectory(prefix="vidclf-chromium-")
        commands_r, self._commands = os.pipe()
        self._answers, answers_w = os.pipe()

        def pipes_at_3_and_4() -> None:  # in the child, before exec
            os.dup2(commands_r, 3)
            os.dup2(answers_w, 4)

        flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                 "--remote-debugging-pipe", f"--window-size={width},{height}",
                 f"--user-data-dir={self._profile.name}"]  # fmt: skip
        self.process = subprocess.Popen(
            [chromium_binary(), *flags, "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, close_fds=False, preexec_fn=pipes_at_3_and_4,
        )  # fmt: skip
        os.close(commands_r)
        os.close(answers_w)
        self._next_id = 0
        self._answered: dict[int, dict] = {}
        self._lock = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        buffer = b""
        while chunk := os.read(self._answers, 65536):
            buffer += chunk
            *messages, buffer = buffer.split(b"\0")
            for raw in messages:
                message = json.loads(raw)
                if "id" in message:  # an answer; events are not needed here
                    with self._lock:
                        self._answered[message["id"]] = message
                        self._lock.notify_all()
        with self._lock:
            self._answered[-1] = {}  # the browser went away
            self._lock.notify_all()

    def send(self, method: str, params: dict | None = None, session: str | None = None) -> dict:
        with self._lock:
            self._next_id += 1
            ident = self._next_id
        message = {"id": ident, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._commands, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + self.timeout
        with self._lock:
            while ident not in self._answered:
                if -1 in self._answered or not self._lock.wait(max(0.0, deadline - time.monotonic())):
                    raise AssertionError(f"Chromium did not answer {method}")
            answer = self._answered.pop(ident)
        if "error" in answer:
            raise AssertionError(f"{method}: {answer['error']}")
        return answer.get("result", {})

    def open(self, url: str) -> Page:
        """A new tab at ``url``, once its document has loaded."""
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        page = Page(self, self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"])
        page.send("Page.navigate", url=url)
        page.wait_for(f"location.href === {json.dumps(url)} && document.readyState === 'complete'")
        return page

    def close(self) -> None:
        try:
            self.send("Browser.close")
        except (AssertionError, OSError):
            pass
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        os.close(self._commands)
        self._reader.join(5)
        os.close(self._answers)
        self._profile.cleanup()

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
