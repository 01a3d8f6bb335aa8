"""Where results go: overlay, window, recording, results files, terminal dashboard, event
sinks (webhook, MQTT, subtitles) and the browser view; output-path safety checks."""
