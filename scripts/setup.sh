#!/usr/bin/env bash
# Install everything vidclf needs on a fresh Debian/Ubuntu machine; safe to run again.
#   - Python packages from requirements-dev.txt (TensorFlow CPU, OpenCV, LiteRT, rich, ...)
#   - for the tests: Xvfb + xdotool (window test), GStreamer's RTSP server for Debian's
#     python3 (real RTSP server on 127.0.0.1), mosquitto (MQTT broker), chromium (browser
#     view test). Skipped with VIDCLF_NO_APT=1.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(xvfb xdotool python3-gi gir1.2-gst-rtsp-server-1.0 gir1.2-gstreamer-1.0
  gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad gstreamer1.0-plugins-ugly
  mosquitto chromium)

if [ "${VIDCLF_NO_APT:-0}" != "1" ] && command -v apt-get >/dev/null 2>&1; then
  missing=()
  for pkg in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    SUDO=""
    [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    echo "setup: installing system packages: ${missing[*]}" >&2
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
fi

PYTHON="${PYTHON:-python3}"
echo "setup: installing Python packages (requirements-dev.txt)" >&2
"$PYTHON" -m pip install -q --disable-pip-version-check --root-user-action=ignore -r requirements-dev.txt
