"""Scoring a model and its smoothing settings on labelled video clips."""
