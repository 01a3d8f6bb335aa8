"""Hide secrets in anything that shows a URL: dashboard, summaries, error lines, files.

Camera URLs often carry credentials (``rtsp://admin:hunter2@10.0.0.5/stream``) or tokens in
the query string (``https://host/live.m3u8?token=...``). They must reach OpenCV intact, but
never a screen, a log or a results file. Everything that turns a source into text goes
through :func:`redact`, and the command-line entry point redacts every error line as a last
line of defence (messages may quote the URL from deep inside a library).

Usage::

    redact("rtsp://admin:hunter2@cam.local/live")    # 'rtsp://admin:***@cam.local/live'
    redact("https://h/x.m3u8?token=abc&q=1")          # 'https://h/x.m3u8?token=***&q=1'
    redact("user:pw@broker:1883")                      # 'user:***@broker:1883'
"""

from __future__ import annotations

import re

MASK = "***"

# scheme://user:password@ -> keep the user (it tells which account), hide the password; a
# password may hold "/" (cameras accept it unencoded), so it runs to the last "@" of the word
_USERINFO = re.compile(r"(?P<head>\b[a-zA-Z][a-zA-Z0-9+.\-]*://[^\s/@:]*):(?P<secret>[^\s@]*)@")
# user:password@host without a scheme (``--mqtt user:pw@broker:1883``)
_BARE_USERINFO = re.compile(r"(?<![\w/:.@*])(?P<head>[\w.\-]+):(?P<secret>[^\s@:/*][^\s@]*)@(?=[\w\[])")
# ?token=... / &password=... / &loginpas=... and similar query parameters
_QUERY_SECRET = re.compile(
    r"(?P<head>[?&;](?:[a-z0-9_\-]*?)(?:token|pass\w*|pas|pwd|pw|secret|api[_\-]?key|apikey|auth\w*|signature|sig|key|credential\w*)=)"
    r"(?P<secret>[^&;#\s]+)",
    re.IGNORECASE,
)


def redact(text: str) -> str:
    """``text`` with URL passwords and secret query parameters replaced by ``***``."""
    text = _USERINFO.sub(lambda m: f"{m['head']}:{MASK}@", str(text))
    text = _BARE_USERINFO.sub(lambda m: f"{m['head']}:{MASK}@", text)
    return _QUERY_SECRET.sub(lambda m: f"{m['head']}{MASK}", text)
