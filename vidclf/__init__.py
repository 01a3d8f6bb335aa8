"""vidclf — real-time video classification with a Keras/TFLite image classifier."""

__version__ = "0.1.0"
