"""The streaming stages: source -> frame queue -> predictor (smoothing, decoding, scene cuts)
-> renderer, wired together by :mod:`vidclf.pipeline.orchestrator`."""
