"""Training: backbones, image and video-frame data, augmentation, the trainer, reports, export.
Needs the ``train`` extra (TensorFlow): ``pip install 'vidclf[train]'``."""
