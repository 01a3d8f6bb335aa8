"""The frame-to-input resize: cheap, but still an anti-aliasing shrink close to INTER_AREA."""

import cv2
import numpy as np
from conftest import CLIPS

from vidclf.runtime.preprocess import prepare_image, shrink


def stripes(height: int, width: int) -> np.ndarray:
    """One-pixel black/white columns: the worst case for aliasing when shrinking."""
    image = np.zeros((height, width, 3), np.uint8)
    image[:, ::2] = 255
    return image


def test_an_exact_halving_is_bit_identical_to_inter_area():
    image = np.random.default_rng(0).integers(0, 256, (448, 448, 3), dtype=np.uint8)
    expected = cv2.resize(image, (224, 224), interpolation=cv2.INTER_AREA)
    assert np.array_equal(shrink(image, 224, 224), expected)


def test_fine_stripes_shrink_to_flat_grey_where_a_plain_bilinear_resize_aliases():
    for height, width in ((1080, 1920), (300, 1920), (481, 853)):  # 1080p, very wide, odd sizes
        image = stripes(height, width)
        shrunk = shrink(image, 224, 224).astype(float)
        plain = cv2.resize(image, (224, 224), interpolation=cv2.INTER_LINEAR).astype(float)
        assert shrunk.shape == (224, 224, 3)
        assert abs(shrunk.mean() - 127.5) < 2 and shrunk.std() < 3, (height, width, shrunk.std())
        assert plain.std() > 30  # what the test guards against: moire from sampling every ~8th column


def test_video_frames_come_out_close_to_inter_area(shared):
    capture = cv2.VideoCapture(str(CLIPS / "volleyball_indoor_practice.mp4"))
    ok, frame = capture.read()
    capture.release()
    assert ok
    for height in (240, 480, 720, 1080):
        scaled = cv2.resize(frame, (height * 16 // 9, height), interpolation=cv2.INTER_AREA)
        for fit in ("crop", "squash"):
            square = scaled if fit == "squash" else scaled[:, (scaled.shape[1] - height) // 2 :][:, :height]
            reference = cv2.cvtColor(cv2.resize(square, (224, 224), interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2RGB)
            ours = prepare_image(scaled, 224, fit).astype(int)
            assert np.abs(ours - reference).mean() < 1.5, (height, fit)


def test_small_images_are_enlarged_bilinearly():
    image = np.random.default_rng(1).integers(0, 256, (100, 150, 3), dtype=np.uint8)
    expected = cv2.resize(image, (224, 224), interpolation=cv2.INTER_LINEAR)
    assert np.array_equal(shrink(image, 224, 224), expected)
