"""Archive mode: classify whole folders of video files as fast as the machine (or a Ray
cluster) allows -- ``vidclf batch``."""
