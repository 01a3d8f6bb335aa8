"""Several streams in one window: the grid, and a real q key press on a real X display (Xvfb)."""

import numpy as np
import pytest
from conftest import CLIPS, ROOT, cli_env, count_frames, read_jsonl, start_cli
from test_multi import streams
from test_window import press_q_after

from vidclf.core.records import FrameResult
from vidclf.sinks.mosaic import Mosaic, Tile, grid_shape


class FakeWindow:
    """Only ``max_width`` is read by :class:`Mosaic` before ``show``; compose() needs no display."""

    max_width = 1280


def frame_result(image: np.ndarray) -> FrameResult:
    return FrameResult(0, 0.0, None, "tennis", 0.9, [("tennis", 0.9)], 1.0, 1.0, image)


def test_grids_are_nearly_square_and_hold_every_stream():
    assert [grid_shape(n) for n in (1, 2, 3, 4, 5, 6, 8, 9, 10)] == [
        (1, 1), (1, 2), (2, 2), (2, 2), (2, 3), (2, 3), (3, 3), (3, 3), (3, 4)
    ]


def test_each_stream_gets_its_own_cell_and_waiting_streams_say_so():
    mosaic = Mosaic(["red", "green", "idle"], FakeWindow())
    red, green = np.zeros((480, 852, 3), np.uint8), np.zeros((240, 320, 3), np.uint8)  # 16:9 and 4:3
    red[:] = (0, 0, 255)
    green[:] = (0, 255, 0)
    mosaic.tiles[0].on_frame(frame_result(red))
    mosaic.tiles[1].on_frame(frame_result(green))
    grid = mosaic.compose()
    tw, th = mosaic.tile_width, mosaic.tile_height
    assert grid.shape == (2 * th, 2 * tw, 3) and tw == 640 and th == 360
    assert tuple(grid[th // 2, tw // 2]) == (0, 0, 255)  # first cell: red, filling the 16:9 cell
    assert tuple(grid[th // 2, tw + tw // 2]) == (0, 255, 0)  # second cell: green, 4:3 letterboxed
    assert tuple(grid[th // 2, tw + 10]) == (0, 0, 0)
    idle = grid[th:, :tw]
    assert idle[: th // 2].max() == 0 and idle.max() > 0  # black, but captioned ("idle (waiting)")
    mosaic.tiles[1].close()
    assert mosaic.tiles[1].ended and isinstance(mosaic.tiles[1], Tile)


@pytest.mark.slow
def test_q_in_the_grid_window_stops_every_stream_and_keeps_their_recordings(tmp_path, xvfb, shared):
    env = cli_env(DISPLAY=xvfb)
    pedestrians = str(CLIPS / "generic_pedestrians_vtest.avi")  # 79.5 s at real time
    demo = str(ROOT / "models" / "demo" / "basketball_gym_shooting.mp4")
    proc = start_cli(
        "stream_classify.py", "--source", pedestrians, "--source", demo, "--realtime", "--loop",
        "--output", str(tmp_path / "{name}.avi"), "--results", str(tmp_path / "{name}.jsonl"), "--display", env=env,
    )  # fmt: skip
    stdout, _ = press_q_after(proc, env, 3, 1280, range(360, 480))  # one row of two 640x360 cells (+ Qt's status bar)
    by_source = streams(stdout)
    assert {s["ended_by"] for s in by_source.values()} == {"q"}, stdout[-2000:]
    for name in ("generic_pedestrians_vtest", "basketball_gym_shooting"):
        rows = read_jsonl(tmp_path / f"{name}.jsonl")
        assert 10 <= len(rows) < 2000  # stopped early, by the key, with frames of its own
        assert count_frames(tmp_path / f"{name}.avi") == len(rows)  # a playable recording of every frame shown
