"""Orchestration: one pipeline for one or many streams (grabbers -> shared predictor -> renderers -> sinks)."""
