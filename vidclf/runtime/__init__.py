"""The model runtime: load a .tflite/.keras classifier, prepare frames for it, calibrate it.
Needs no TensorFlow for .tflite models (LiteRT)."""
